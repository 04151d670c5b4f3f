// A small JSON CLI over confluent-kafka-go (Debian's golang-github-confluentinc-confluent-kafka-go-dev
// 0.11.6, cgo over Debian's librdkafka) for the interop tests: one command as the first argument, a
// JSON request on stdin, one JSON answer on stdout ({"error": ...} and exit 1 on failure). Built
// offline in GOPATH mode by tests/interop/go.ts.
package main

import (
	"context"
	"fmt"
	"os"
	common "sluice_common"
	"sort"
	"time"

	"github.com/confluentinc/confluent-kafka-go/kafka"
)

type header struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

type message struct {
	Key       *string  `json:"key"`
	Value     *string  `json:"value"`
	Partition *int32   `json:"partition"`
	Headers   []header `json:"headers"`
	// Timestamp in milliseconds since the epoch (0: let the client set it).
	Timestamp int64 `json:"timestamp"`
}

type topicSpec struct {
	Topic             string            `json:"topic"`
	NumPartitions     int               `json:"numPartitions"`
	ReplicationFactor int               `json:"replicationFactor"`
	Config            map[string]string `json:"config"`
}

type request struct {
	Brokers   []string          `json:"brokers"`
	Topic     string            `json:"topic"`
	Topics    []string          `json:"topics"`
	Messages  []message         `json:"messages"`
	Count     int               `json:"count"`
	Group     string            `json:"group"`
	Config    map[string]string `json:"config"`
	TimeoutMs int               `json:"timeoutMs"`
	// admin
	Create       []topicSpec       `json:"create"`
	ValidateOnly bool              `json:"validateOnly"`
	Delete       []string          `json:"delete"`
	Partitions   int               `json:"partitions"`
	Alter        map[string]string `json:"alter"`
	Timestamp    int64             `json:"timestamp"`
	// IntervalMs is a pause between two produced messages (produce).
	IntervalMs int `json:"intervalMs"`
}

type record struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Offset    int64    `json:"offset"`
	Key       *string  `json:"key"`
	Value     *string  `json:"value"`
	Headers   []header `json:"headers"`
	Timestamp int64    `json:"timestamp"`
	// TimestampType is "CreateTime" or "LogAppendTime" (consumed records only).
	TimestampType string `json:"timestampType,omitempty"`
}

// The shared JSON plumbing, under the names this file uses.
var (
	fail    = common.Fail
	answer  = common.Answer
	str     = common.Str
	bytesOf = common.Bytes
)

func configMap(req request, extra kafka.ConfigMap) *kafka.ConfigMap {
	cm := kafka.ConfigMap{"bootstrap.servers": req.Brokers[0], "client.id": "sluice-confluentgo-test"}
	for k, v := range extra {
		cm[k] = v
	}
	for k, v := range req.Config {
		cm[k] = v
	}
	return &cm
}

func toRecord(m *kafka.Message) record {
	r := record{
		Topic:     *m.TopicPartition.Topic,
		Partition: m.TopicPartition.Partition,
		Offset:    int64(m.TopicPartition.Offset),
		Key:       str(m.Key),
		Value:     str(m.Value),
		Headers:   []header{},
	}
	if !m.Timestamp.IsZero() {
		r.Timestamp = m.Timestamp.UnixNano() / int64(time.Millisecond)
	}
	for _, h := range m.Headers {
		r.Headers = append(r.Headers, header{Key: h.Key, Value: str(h.Value)})
	}
	switch m.TimestampType {
	case kafka.TimestampCreateTime:
		r.TimestampType = "CreateTime"
	case kafka.TimestampLogAppendTime:
		r.TimestampType = "LogAppendTime"
	}
	return r
}

func deadline(req request, def time.Duration) time.Time {
	if req.TimeoutMs > 0 {
		return time.Now().Add(time.Duration(req.TimeoutMs) * time.Millisecond)
	}
	return time.Now().Add(def)
}

// produce sends every message, one delivery report each, on the deliveryChan of Produce; then
// Flush. The answer lists the reports in send order.
func produce(req request) {
	p, err := kafka.NewProducer(configMap(req, nil))
	if err != nil {
		fail(err)
	}
	defer p.Close()
	reports := make(chan kafka.Event, len(req.Messages))
	for _, m := range req.Messages {
		partition := kafka.PartitionAny
		if m.Partition != nil {
			partition = *m.Partition
		}
		km := &kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &req.Topic, Partition: partition},
			Key:            bytesOf(m.Key),
			Value:          bytesOf(m.Value),
		}
		if m.Timestamp != 0 {
			km.Timestamp = time.Unix(0, m.Timestamp*int64(time.Millisecond))
		}
		for _, h := range m.Headers {
			km.Headers = append(km.Headers, kafka.Header{Key: h.Key, Value: bytesOf(h.Value)})
		}
		if err := p.Produce(km, reports); err != nil {
			fail(fmt.Errorf("produce: %v", err))
		}
		if req.IntervalMs > 0 {
			time.Sleep(time.Duration(req.IntervalMs) * time.Millisecond)
		}
	}
	records := []record{}
	until := deadline(req, 30*time.Second)
	for len(records) < len(req.Messages) {
		select {
		case ev := <-reports:
			m, ok := ev.(*kafka.Message)
			if !ok {
				fail(fmt.Errorf("unexpected delivery event %v", ev))
			}
			if m.TopicPartition.Error != nil {
				fail(fmt.Errorf("delivery failed: %v", m.TopicPartition.Error))
			}
			records = append(records, toRecord(m))
		case <-time.After(time.Until(until)):
			fail(fmt.Errorf("timed out with %d of %d delivery reports", len(records), len(req.Messages)))
		}
	}
	answer(map[string]interface{}{"records": records})
}

// produceEvents is produce through the Events() channel and ProduceChannel(), the other delivery
// report path: every report is counted and the answer lists them in arrival order.
func produceEvents(req request) {
	p, err := kafka.NewProducer(configMap(req, nil))
	if err != nil {
		fail(err)
	}
	defer p.Close()
	for _, m := range req.Messages {
		p.ProduceChannel() <- &kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &req.Topic, Partition: kafka.PartitionAny},
			Key:            bytesOf(m.Key),
			Value:          bytesOf(m.Value),
		}
	}
	records := []record{}
	until := deadline(req, 30*time.Second)
	for len(records) < len(req.Messages) {
		select {
		case ev := <-p.Events():
			switch e := ev.(type) {
			case *kafka.Message:
				if e.TopicPartition.Error != nil {
					fail(fmt.Errorf("delivery failed: %v", e.TopicPartition.Error))
				}
				records = append(records, toRecord(e))
			case kafka.Error:
				fmt.Fprintf(os.Stderr, "error event: %v\n", e)
			}
		case <-time.After(time.Until(until)):
			fail(fmt.Errorf("timed out with %d of %d delivery reports", len(records), len(req.Messages)))
		}
	}
	answer(map[string]interface{}{"records": records})
}

type member struct {
	name     string
	c        *kafka.Consumer
	events   []string
	records  []record
	assigned []kafka.TopicPartition
}

func newMember(req request, name string) *member {
	c, err := kafka.NewConsumer(configMap(req, kafka.ConfigMap{
		"group.id":                        req.Group,
		"go.application.rebalance.enable": true,
		"enable.auto.commit":              false,
		"auto.offset.reset":               "earliest",
		"session.timeout.ms":              10000,
		"heartbeat.interval.ms":           500,
		"client.id":                       name,
	}))
	if err != nil {
		fail(err)
	}
	topics := req.Topics
	if len(topics) == 0 {
		topics = []string{req.Topic}
	}
	if err := c.SubscribeTopics(topics, nil); err != nil {
		fail(err)
	}
	return &member{name: name, c: c, events: []string{}, records: []record{}}
}

func partitionList(tps []kafka.TopicPartition) string {
	ps := []string{}
	for _, tp := range tps {
		ps = append(ps, fmt.Sprintf("%s-%d", *tp.Topic, tp.Partition))
	}
	sort.Strings(ps)
	return fmt.Sprint(ps)
}

// poll handles one event: rebalances are recorded and applied, each message is committed
// synchronously (CommitMessage) and recorded.
func (m *member) poll(ms int) {
	switch e := m.c.Poll(ms).(type) {
	case kafka.AssignedPartitions:
		m.events = append(m.events, "assigned "+partitionList(e.Partitions))
		m.assigned = e.Partitions
		if err := m.c.Assign(e.Partitions); err != nil {
			fail(err)
		}
	case kafka.RevokedPartitions:
		m.events = append(m.events, "revoked "+partitionList(e.Partitions))
		m.assigned = nil
		if err := m.c.Unassign(); err != nil {
			fail(err)
		}
	case *kafka.Message:
		if e.TopicPartition.Error != nil {
			fail(fmt.Errorf("%s: message error: %v", m.name, e.TopicPartition.Error))
		}
		m.records = append(m.records, toRecord(e))
		if _, err := m.c.CommitMessage(e); err != nil {
			fail(fmt.Errorf("%s: commit: %v", m.name, err))
		}
	case kafka.Error:
		fmt.Fprintf(os.Stderr, "%s: error event: %v\n", m.name, e)
	}
}

func (m *member) committed(topic string, partitions int) map[string]int64 {
	tps := []kafka.TopicPartition{}
	for p := 0; p < partitions; p++ {
		tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: int32(p)})
	}
	got, err := m.c.Committed(tps, 10000)
	if err != nil {
		fail(fmt.Errorf("committed: %v", err))
	}
	out := map[string]int64{}
	for _, tp := range got {
		out[fmt.Sprint(tp.Partition)] = int64(tp.Offset)
	}
	return out
}

func (m *member) summary() map[string]interface{} {
	return map[string]interface{}{"events": m.events, "records": m.records}
}

// group: one member subscribes, reads count records (committing each), reads the committed
// offsets back, closes (a revoke is reported).
func group(req request) {
	m := newMember(req, "member-a")
	until := deadline(req, 40*time.Second)
	for len(m.records) < req.Count {
		if time.Now().After(until) {
			fail(fmt.Errorf("timed out with %d of %d records; events %v", len(m.records), req.Count, m.events))
		}
		m.poll(100)
	}
	committed := m.committed(req.Topic, req.Partitions)
	if err := m.c.Close(); err != nil {
		fail(err)
	}
	answer(map[string]interface{}{"events": m.events, "records": m.records, "committed": committed})
}

// rebalance: member a subscribes and gets every partition; member b joins and the partitions are
// split (a sees revoked then assigned); then req.Messages are produced (to their partitions) and
// read by the member owning each partition, committing each; b closes and a gets every partition
// back.
func rebalance(req request) {
	until := deadline(req, 50*time.Second)
	check := func(what string) {
		if time.Now().After(until) {
			fail(fmt.Errorf("timed out waiting for %s", what))
		}
	}
	a := newMember(req, "member-a")
	for a.assigned == nil {
		check("a's first assignment")
		a.poll(100)
	}
	b := newMember(req, "member-b")
	for b.assigned == nil || a.assigned == nil || len(a.assigned)+len(b.assigned) != req.Partitions {
		check("the split assignment")
		a.poll(50)
		b.poll(50)
	}
	p, err := kafka.NewProducer(configMap(req, nil))
	if err != nil {
		fail(err)
	}
	reports := make(chan kafka.Event, len(req.Messages))
	for _, m := range req.Messages {
		if err := p.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &req.Topic, Partition: *m.Partition},
			Key:            bytesOf(m.Key),
			Value:          bytesOf(m.Value),
		}, reports); err != nil {
			fail(err)
		}
	}
	for range req.Messages {
		check("the delivery reports")
		select {
		case ev := <-reports:
			if m := ev.(*kafka.Message); m.TopicPartition.Error != nil {
				fail(fmt.Errorf("delivery failed: %v", m.TopicPartition.Error))
			}
		case <-time.After(time.Until(until)):
		}
	}
	p.Close()
	for len(a.records)+len(b.records) < len(req.Messages) {
		check("the records")
		a.poll(50)
		b.poll(50)
	}
	committed := a.committed(req.Topic, req.Partitions)
	if err := b.c.Close(); err != nil {
		fail(err)
	}
	for len(a.assigned) != req.Partitions {
		check("a's assignment after b left")
		a.poll(100)
	}
	if err := a.c.Close(); err != nil {
		fail(err)
	}
	answer(map[string]interface{}{"a": a.summary(), "b": b.summary(), "committed": committed})
}

// watermarks: QueryWatermarkOffsets for partition 0..partitions-1 and OffsetsForTimes at
// req.Timestamp, through a consumer without a group.
func watermarks(req request) {
	c, err := kafka.NewConsumer(configMap(req, kafka.ConfigMap{"group.id": "sluice-confluentgo-unused"}))
	if err != nil {
		fail(err)
	}
	defer c.Close()
	out := map[string]interface{}{}
	times := []kafka.TopicPartition{}
	for p := 0; p < req.Partitions; p++ {
		low, high, err := c.QueryWatermarkOffsets(req.Topic, int32(p), 10000)
		if err != nil {
			fail(fmt.Errorf("watermarks %d: %v", p, err))
		}
		out[fmt.Sprint(p)] = []int64{low, high}
		times = append(times, kafka.TopicPartition{Topic: &req.Topic, Partition: int32(p), Offset: kafka.Offset(req.Timestamp)})
	}
	found, err := c.OffsetsForTimes(times, 10000)
	if err != nil {
		fail(fmt.Errorf("offsets for times: %v", err))
	}
	byTime := map[string]int64{}
	for _, tp := range found {
		if tp.Error != nil {
			fail(fmt.Errorf("offsets for times %d: %v", tp.Partition, tp.Error))
		}
		byTime[fmt.Sprint(tp.Partition)] = int64(tp.Offset)
	}
	md, err := c.GetMetadata(&req.Topic, false, 10000)
	if err != nil {
		fail(fmt.Errorf("metadata: %v", err))
	}
	brokers := []string{}
	for _, b := range md.Brokers {
		brokers = append(brokers, fmt.Sprintf("%d %s:%d", b.ID, b.Host, b.Port))
	}
	answer(map[string]interface{}{"watermarks": out, "offsetsForTimes": byTime, "brokers": brokers,
		"partitions": len(md.Topics[req.Topic].Partitions), "topicError": md.Topics[req.Topic].Error.Code().String()})
}

func topicResults(rs []kafka.TopicResult) map[string]string {
	out := map[string]string{}
	for _, r := range rs {
		out[r.Topic] = r.Error.Code().String()
	}
	return out
}

// admin: every call 0.11.6 has, in order: CreateTopics (req.Create, ValidateOnly), CreatePartitions
// (req.Topic up to req.Partitions), AlterConfigs (req.Alter on req.Topic), DescribeConfigs
// (req.Topic), DeleteTopics (req.Delete). Each result's error codes go in the answer.
func admin(req request) {
	a, err := kafka.NewAdminClient(configMap(req, nil))
	if err != nil {
		fail(err)
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[string]interface{}{}
	if len(req.Create) > 0 {
		specs := []kafka.TopicSpecification{}
		for _, c := range req.Create {
			specs = append(specs, kafka.TopicSpecification{Topic: c.Topic, NumPartitions: c.NumPartitions,
				ReplicationFactor: c.ReplicationFactor, Config: c.Config})
		}
		rs, err := a.CreateTopics(ctx, specs, kafka.SetAdminValidateOnly(req.ValidateOnly),
			kafka.SetAdminOperationTimeout(10*time.Second))
		if err != nil {
			fail(fmt.Errorf("create topics: %v", err))
		}
		out["create"] = topicResults(rs)
	}
	if req.Partitions > 0 {
		rs, err := a.CreatePartitions(ctx, []kafka.PartitionsSpecification{{Topic: req.Topic, IncreaseTo: req.Partitions}})
		if err != nil {
			fail(fmt.Errorf("create partitions: %v", err))
		}
		out["createPartitions"] = topicResults(rs)
	}
	resource := kafka.ConfigResource{Type: kafka.ResourceTopic, Name: req.Topic}
	if len(req.Alter) > 0 {
		r := resource
		r.Config = kafka.StringMapToConfigEntries(req.Alter, kafka.AlterOperationSet)
		rs, err := a.AlterConfigs(ctx, []kafka.ConfigResource{r})
		if err != nil {
			fail(fmt.Errorf("alter configs: %v", err))
		}
		out["alter"] = rs[0].Error.Code().String()
	}
	if req.Topic != "" {
		rs, err := a.DescribeConfigs(ctx, []kafka.ConfigResource{resource})
		if err != nil {
			fail(fmt.Errorf("describe configs: %v", err))
		}
		configs := map[string]interface{}{}
		for name, e := range rs[0].Config {
			configs[name] = map[string]interface{}{"value": e.Value, "source": e.Source.String(),
				"readOnly": e.IsReadOnly, "sensitive": e.IsSensitive}
		}
		out["describe"] = map[string]interface{}{"error": rs[0].Error.Code().String(), "configs": configs}
	}
	if len(req.Delete) > 0 {
		rs, err := a.DeleteTopics(ctx, req.Delete, kafka.SetAdminOperationTimeout(10*time.Second))
		if err != nil {
			fail(fmt.Errorf("delete topics: %v", err))
		}
		out["delete"] = topicResults(rs)
	}
	answer(out)
}

func main() {
	var req request
	common.Main("sluice_confluentgo", &req, map[string]func(){
		"produce":        func() { produce(req) },
		"produce-events": func() { produceEvents(req) },
		"group":          func() { group(req) },
		"rebalance":      func() { rebalance(req) },
		"watermarks":     func() { watermarks(req) },
		"admin":          func() { admin(req) },
		"version": func() {
			_, v := kafka.LibraryVersion()
			answer(map[string]string{"librdkafka": v})
		},
	})
}
