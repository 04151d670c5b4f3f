#!/usr/bin/env python3
# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""kafka-python's record-format code (kafka.record) as a JSON CLI, so tests can check Sluice's
records/ against an independent implementation of message formats v0/v1 and batches v2.

  encode  {"magic": 0|1|2, "compression": "none"|"gzip", "records": [{"offset", "timestamp",
           "key", "value", "headers"}]}  -> {"hex": ...}
  decode  {"hex": ...}  -> {"batches": [{"magic", "crc_ok", "records": [...]}]}

Keys, values and header values are UTF-8 strings or null.
"""

import json
import sys

from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def to_bytes(v):
    return None if v is None else v.encode("utf-8")


def to_str(b):
    return None if b is None else bytes(b).decode("utf-8")


def encode(req):
    magic = req["magic"]
    codec = CODECS[req.get("compression", "none")]
    if magic < 2:
        b = LegacyRecordBatchBuilder(magic=magic, compression_type=codec, batch_size=1 << 24)
        for r in req["records"]:
            b.append(r["offset"], r.get("timestamp"), to_bytes(r.get("key")), to_bytes(r.get("value")))
    else:
        b = DefaultRecordBatchBuilder(magic=2, compression_type=codec, is_transactional=False,
                                      producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                      batch_size=1 << 24)
        for r in req["records"]:
            headers = [(k, to_bytes(v)) for k, v in r.get("headers", [])]
            b.append(r["offset"], r.get("timestamp"), to_bytes(r.get("key")),
                     to_bytes(r.get("value")), headers)
    return {"hex": bytes(b.build()).hex()}


def decode(req):
    records = MemoryRecords(bytes.fromhex(req["hex"]))
    out = []
    while True:
        batch = records.next_batch()
        if batch is None:
            break
        out.append({
            "magic": batch.magic if hasattr(batch, "magic") else batch._magic,
            "crc_ok": batch.validate_crc(),
            "records": [{
                "offset": r.offset,
                "timestamp": r.timestamp,
                "key": to_str(r.key),
                "value": to_str(r.value),
                "headers": [[k, to_str(v)] for k, v in (getattr(r, "headers", None) or [])],
            } for r in batch],
        })
    return {"batches": out}


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        req = json.loads(sys.stdin.read())
        fn = {"encode": encode, "decode": decode}.get(cmd)
        if fn is None:
            raise ValueError("unknown command %r" % cmd)
        print(json.dumps(fn(req)))
        return 0
    except Exception as e:  # noqa: BLE001 - report every failure as JSON
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
        return 1


if __name__ == "__main__":
    sys.exit(main())
