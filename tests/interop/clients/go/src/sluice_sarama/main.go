// A small JSON CLI over Sarama (Debian's golang-github-shopify-sarama-dev) for the interop
// tests: one command as the first argument, a JSON request on stdin, one JSON answer on stdout
// ({"error": ...} and exit 1 on failure). Built offline in GOPATH mode by tests/interop/go.ts.
package main

import (
	"context"
	"fmt"
	common "sluice_common"
	"sort"
	"time"

	"github.com/Shopify/sarama"
)

type message struct {
	Key   *string `json:"key"`
	Value *string `json:"value"`
}

type request struct {
	Brokers     []string  `json:"brokers"`
	Version     string    `json:"version"`
	Topic       string    `json:"topic"`
	Partition   int32     `json:"partition"`
	Messages    []message `json:"messages"`
	Count       int       `json:"count"`
	Group       string    `json:"group"`
	Compression string    `json:"compression"`
	TimeoutMs   int       `json:"timeoutMs"`
}

type record struct {
	Partition int32   `json:"partition"`
	Offset    int64   `json:"offset"`
	Key       *string `json:"key"`
	Value     *string `json:"value"`
	// Headers is the number of record headers (only record batches v2 carry them).
	Headers int `json:"headers"`
}

// The shared JSON plumbing, under the names this file uses.
var (
	fail   = common.Fail
	answer = common.Answer
	str    = common.Str
)

func encoder(s *string) sarama.Encoder {
	if s == nil {
		return nil
	}
	return sarama.StringEncoder(*s)
}

func config(req request) *sarama.Config {
	cfg := sarama.NewConfig()
	v, err := sarama.ParseKafkaVersion(req.Version)
	if err != nil {
		fail(err)
	}
	cfg.Version = v
	cfg.ClientID = "sluice-sarama-test"
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	switch req.Compression {
	case "", "none":
	case "gzip":
		cfg.Producer.Compression = sarama.CompressionGZIP
	case "snappy":
		cfg.Producer.Compression = sarama.CompressionSnappy
	case "lz4":
		cfg.Producer.Compression = sarama.CompressionLZ4
	case "zstd":
		cfg.Producer.Compression = sarama.CompressionZSTD
	default:
		fail(fmt.Errorf("unknown compression %q", req.Compression))
	}
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Return.Errors = true
	cfg.Metadata.Retry.Max = 10
	cfg.Metadata.Retry.Backoff = 200 * time.Millisecond
	return cfg
}

func produce(req request) {
	p, err := sarama.NewSyncProducer(req.Brokers, config(req))
	if err != nil {
		fail(err)
	}
	defer p.Close()
	out := []record{}
	for _, m := range req.Messages {
		part, off, err := p.SendMessage(&sarama.ProducerMessage{
			Topic: req.Topic, Partition: req.Partition, Key: encoder(m.Key), Value: encoder(m.Value),
		})
		if err != nil {
			fail(err)
		}
		out = append(out, record{Partition: part, Offset: off, Key: m.Key, Value: m.Value})
	}
	answer(map[string]interface{}{"records": out})
}

func timeout(req request) time.Duration {
	if req.TimeoutMs > 0 {
		return time.Duration(req.TimeoutMs) * time.Millisecond
	}
	return 20 * time.Second
}

func consume(req request) {
	c, err := sarama.NewConsumer(req.Brokers, config(req))
	if err != nil {
		fail(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition(req.Topic, req.Partition, sarama.OffsetOldest)
	if err != nil {
		fail(err)
	}
	defer pc.Close()
	out := []record{}
	deadline := time.After(timeout(req))
	for len(out) < req.Count {
		select {
		case m := <-pc.Messages():
			out = append(out, record{Partition: m.Partition, Offset: m.Offset, Key: str(m.Key), Value: str(m.Value), Headers: len(m.Headers)})
		case e := <-pc.Errors():
			fail(e)
		case <-deadline:
			fail(fmt.Errorf("timed out with %d of %d records", len(out), req.Count))
		}
	}
	answer(map[string]interface{}{"records": out})
}

type handler struct {
	want int
	got  chan record
}

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		h.got <- record{Partition: m.Partition, Offset: m.Offset, Key: str(m.Key), Value: str(m.Value)}
		s.MarkMessage(m, "")
	}
	return nil
}

// group joins req.Group, reads req.Count records from req.Topic, commits them and leaves.
func group(req request) {
	cfg := config(req)
	// Sarama's consumer groups need Version >= 0.10.2 (it refuses lower ones before connecting);
	// 0.10.2 still fetches with Fetch v3 and message format v1, so the group reads down-converted
	// message sets as Version 0.10.0 does.
	if !cfg.Version.IsAtLeast(sarama.V0_10_2_0) {
		cfg.Version = sarama.V0_10_2_0
	}
	cfg.Consumer.Offsets.CommitInterval = 100 * time.Millisecond
	client, err := sarama.NewClient(req.Brokers, cfg)
	if err != nil {
		fail(err)
	}
	defer client.Close()
	g, err := sarama.NewConsumerGroupFromClient(req.Group, client)
	if err != nil {
		fail(err)
	}
	h := &handler{want: req.Count, got: make(chan record, 1024)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if err := g.Consume(ctx, []string{req.Topic}, h); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	out := []record{}
	deadline := time.After(timeout(req))
	for len(out) < req.Count {
		select {
		case r := <-h.got:
			out = append(out, r)
		case e := <-g.Errors():
			cancel()
			fail(e)
		case e := <-done:
			cancel()
			fail(fmt.Errorf("consume ended: %v", e))
		case <-deadline:
			cancel()
			fail(fmt.Errorf("timed out with %d of %d records", len(out), req.Count))
		}
	}
	time.Sleep(500 * time.Millisecond) // let the auto-commit run
	cancel()
	<-done
	if err := g.Close(); err != nil {
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

// committed lists the group's committed offsets for req.Topic (partitions 0..Count-1).
func committed(req request) {
	client, err := sarama.NewClient(req.Brokers, config(req))
	if err != nil {
		fail(err)
	}
	defer client.Close()
	om, err := sarama.NewOffsetManagerFromClient(req.Group, client)
	if err != nil {
		fail(err)
	}
	defer om.Close()
	out := map[string]int64{}
	for p := 0; p < req.Count; p++ {
		pom, err := om.ManagePartition(req.Topic, int32(p))
		if err != nil {
			fail(err)
		}
		off, _ := pom.NextOffset()
		out[fmt.Sprint(p)] = off
		pom.Close()
	}
	answer(map[string]interface{}{"offsets": out})
}

func main() {
	var req request
	common.Main("sluice_sarama", &req, map[string]func(){
		"produce":   func() { produce(req) },
		"consume":   func() { consume(req) },
		"group":     func() { group(req) },
		"committed": func() { committed(req) },
	})
}
