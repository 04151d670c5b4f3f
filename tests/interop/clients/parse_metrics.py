#!/usr/bin/python3
# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""Parse a Prometheus exposition with the official Python client's parsers (Debian
python3-prometheus-client), for the /metrics tests.

Usage: parse_metrics.py text|openmetrics < exposition

Prints one JSON object: {"families": {name: type}, "samples": [[name, {labels}, value], ...]}.
A parse error prints {"error": "<detail>"} and exits 1.
"""

import json
import math
import sys


def main():
    fmt = sys.argv[1]
    text = sys.stdin.read()
    try:
        if fmt == "openmetrics":
            from prometheus_client.openmetrics.parser import text_string_to_metric_families
        else:
            from prometheus_client.parser import text_string_to_metric_families
        families = {}
        samples = []
        for f in text_string_to_metric_families(text):
            if f.name in families:
                raise ValueError("family %s appears twice" % f.name)
            families[f.name] = f.type
            for s in f.samples:
                v = s.value
                samples.append([s.name, s.labels, "+Inf" if v == math.inf else v])
    except ImportError as e:
        print(json.dumps({"error": "%s (apt-get install python3-prometheus-client)" % e}))
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - any parse failure is the answer
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
        sys.exit(1)
    print(json.dumps({"families": families, "samples": samples}))


if __name__ == "__main__":
    main()
