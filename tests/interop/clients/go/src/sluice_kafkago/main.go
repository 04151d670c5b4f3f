// A small JSON CLI over kafka-go (Debian's golang-github-segmentio-kafka-go-dev, which speaks
// Produce v2 and Fetch v2 with message format v1) for the interop tests: one command as the
// first argument, a JSON request on stdin, one JSON answer on stdout ({"error": ...} and exit 1
// on failure). Built offline in GOPATH mode by tests/interop/go.ts.
package main

import (
	"context"
	"fmt"
	common "sluice_common"
	"sort"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
	"github.com/segmentio/kafka-go/snappy"
)

type message struct {
	Key   *string `json:"key"`
	Value *string `json:"value"`
}

type request struct {
	Brokers     []string  `json:"brokers"`
	Topic       string    `json:"topic"`
	Partition   int       `json:"partition"`
	Messages    []message `json:"messages"`
	Count       int       `json:"count"`
	Group       string    `json:"group"`
	Compression string    `json:"compression"`
	TimeoutMs   int       `json:"timeoutMs"`
}

type record struct {
	Partition int     `json:"partition"`
	Offset    int64   `json:"offset"`
	Key       *string `json:"key"`
	Value     *string `json:"value"`
}

// The shared JSON plumbing, under the names this file uses.
var (
	fail   = common.Fail
	answer = common.Answer
	str    = common.Str
	bytes  = common.Bytes
)

func deadline(req request) (context.Context, context.CancelFunc) {
	ms := req.TimeoutMs
	if ms <= 0 {
		ms = 20000
	}
	return context.WithTimeout(context.Background(), time.Duration(ms)*time.Millisecond)
}

// produce writes req.Messages to req.Topic/req.Partition on a leader connection (Produce v2,
// message format v1) and reads them back with their offsets.
func produce(req request) {
	ctx, cancel := deadline(req)
	defer cancel()
	conn, err := kafka.DialLeader(ctx, "tcp", req.Brokers[0], req.Topic, req.Partition)
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	if req.Compression != "" && req.Compression != "none" {
		fail(fmt.Errorf("produce sends uncompressed messages; use write for %s", req.Compression))
	}
	first, err := conn.ReadLastOffset()
	if err != nil {
		fail(err)
	}
	msgs := make([]kafka.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = kafka.Message{Key: bytes(m.Key), Value: bytes(m.Value)}
	}
	if _, err := conn.WriteMessages(msgs...); err != nil {
		fail(err)
	}
	answer(map[string]interface{}{"firstOffset": first})
}

// write sends req.Messages with a Writer (its own batching and compression), acks=all.
func write(req request) {
	cfg := kafka.WriterConfig{
		Brokers:      req.Brokers,
		Topic:        req.Topic,
		Balancer:     &kafka.RoundRobin{},
		RequiredAcks: -1,
		BatchTimeout: 10 * time.Millisecond,
	}
	switch req.Compression {
	case "", "none":
	case "gzip":
		cfg.CompressionCodec = gzip.NewCompressionCodec()
	case "snappy":
		cfg.CompressionCodec = snappy.NewCompressionCodec()
	default:
		fail(fmt.Errorf("unsupported compression %q", req.Compression))
	}
	w := kafka.NewWriter(cfg)
	msgs := make([]kafka.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = kafka.Message{Key: bytes(m.Key), Value: bytes(m.Value)}
	}
	ctx, cancel := deadline(req)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		fail(err)
	}
	if err := w.Close(); err != nil {
		fail(err)
	}
	answer(map[string]interface{}{"written": len(msgs)})
}

// consume reads req.Count records of req.Topic/req.Partition from the start (Fetch v2).
func consume(req request) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   req.Brokers,
		Topic:     req.Topic,
		Partition: req.Partition,
		MinBytes:  1,
		MaxBytes:  10 << 20,
		MaxWait:   200 * time.Millisecond,
	})
	defer r.Close()
	ctx, cancel := deadline(req)
	defer cancel()
	out := []record{}
	for len(out) < req.Count {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			fail(fmt.Errorf("after %d of %d records: %v", len(out), req.Count, err))
		}
		out = append(out, record{Partition: m.Partition, Offset: m.Offset, Key: str(m.Key), Value: str(m.Value)})
	}
	answer(map[string]interface{}{"records": out})
}

// group joins req.Group, reads req.Count records of req.Topic, commits them and leaves.
func group(req request) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           req.Brokers,
		Topic:             req.Topic,
		GroupID:           req.Group,
		MinBytes:          1,
		MaxBytes:          10 << 20,
		MaxWait:           200 * time.Millisecond,
		HeartbeatInterval: 500 * time.Millisecond,
		SessionTimeout:    10 * time.Second,
	})
	ctx, cancel := deadline(req)
	defer cancel()
	out := []record{}
	for len(out) < req.Count {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			r.Close()
			fail(fmt.Errorf("after %d of %d records: %v", len(out), req.Count, err))
		}
		if err := r.CommitMessages(ctx, m); err != nil {
			r.Close()
			fail(err)
		}
		out = append(out, record{Partition: m.Partition, Offset: m.Offset, Key: str(m.Key), Value: str(m.Value)})
	}
	if err := r.Close(); err != nil {
		fail(err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Partition != out[j].Partition {
			return out[i].Partition < out[j].Partition
		}
		return out[i].Offset < out[j].Offset
	})
	answer(map[string]interface{}{"records": out})
}

func main() {
	var req request
	common.Main("sluice_kafkago", &req, map[string]func(){
		"produce": func() { produce(req) },
		"write":   func() { write(req) },
		"consume": func() { consume(req) },
		"group":   func() { group(req) },
	})
}
