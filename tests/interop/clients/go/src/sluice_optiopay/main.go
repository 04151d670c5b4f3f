// A small JSON CLI over optiopay/kafka (Debian's golang-github-optiopay-kafka-dev 2.1.1: its own
// protocol code, Produce v0-v2 with message sets, Fetch v0-v5, Metadata v0-v5, OffsetCommit and
// OffsetFetch v0-v3, GroupCoordinator v0-v1, ApiVersions v0-v1) for the interop tests: one command
// as the first argument, a JSON request on stdin, one JSON answer on stdout ({"error": ...} and
// exit 1 on failure). Built offline in GOPATH mode by tests/interop/go.ts.
//
// Two ways in: the client's own API (Broker, Producer, Consumer, OffsetCoordinator), which
// negotiates the highest version both sides know, and `versions`, which sends every request the
// driver can encode at every version it knows (proto.SupportedByDriver) on a raw connection and
// decodes the answers with the driver's own decoders.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	common "sluice_common"
	"time"

	"github.com/optiopay/kafka/v2"
	"github.com/optiopay/kafka/v2/proto"
)

type message struct {
	Key   *string `json:"key"`
	Value *string `json:"value"`
}

type request struct {
	Brokers            []string  `json:"brokers"`
	Topic              string    `json:"topic"`
	Partition          int32     `json:"partition"`
	Partitions         int32     `json:"partitions"`
	Messages           []message `json:"messages"`
	Batch              int       `json:"batch"`
	Acks               *int16    `json:"acks"`
	Compression        string    `json:"compression"`
	Count              int       `json:"count"`
	StartOffset        *int64    `json:"startOffset"`
	Group              string    `json:"group"`
	Offset             int64     `json:"offset"`
	Metadata           string    `json:"metadata"`
	AllowTopicCreation bool      `json:"allowTopicCreation"`
	Retries            int       `json:"retries"`
	Topics             []string  `json:"topics"`
	Distribute         string    `json:"distribute"`
	Version            int16     `json:"version"`
	IntervalMs         int       `json:"intervalMs"`
}

type record struct {
	Partition int32   `json:"partition"`
	Offset    int64   `json:"offset"`
	Key       *string `json:"key"`
	Value     *string `json:"value"`
}

// The shared JSON plumbing, under the names this file uses.
var (
	fail   = common.Fail
	answer = common.Answer
	str    = common.Str
	raw    = common.Bytes
)

// stderrLogger prints the client's own log lines to stderr (the test shows their tail on failure).
type stderrLogger struct{}

func (stderrLogger) log(level, msg string, args ...interface{}) {
	fmt.Fprintln(os.Stderr, append([]interface{}{level, msg}, args...)...)
}
func (l stderrLogger) Debug(msg string, args ...interface{}) { l.log("DEBUG", msg, args...) }
func (l stderrLogger) Info(msg string, args ...interface{})  { l.log("INFO", msg, args...) }
func (l stderrLogger) Warn(msg string, args ...interface{})  { l.log("WARN", msg, args...) }
func (l stderrLogger) Error(msg string, args ...interface{}) { l.log("ERROR", msg, args...) }

func dial(req request) *kafka.Broker {
	conf := kafka.NewBrokerConf("sluice-optiopay")
	conf.Logger = stderrLogger{}
	conf.AllowTopicCreation = req.AllowTopicCreation
	conf.DialRetryLimit = 3
	conf.DialRetryWait = 200 * time.Millisecond
	conf.LeaderRetryLimit = 3
	conf.LeaderRetryWait = 200 * time.Millisecond
	conf.ReadTimeout = 10 * time.Second
	b, err := kafka.Dial(req.Brokers, conf)
	if err != nil {
		fail(err)
	}
	return b
}

func compression(name string) proto.Compression {
	switch name {
	case "", "none":
		return proto.CompressionNone
	case "gzip":
		return proto.CompressionGzip
	case "snappy":
		return proto.CompressionSnappy
	}
	fail(fmt.Errorf("unknown compression %q", name))
	return 0
}

func messages(req request) []*proto.Message {
	out := make([]*proto.Message, len(req.Messages))
	for i, m := range req.Messages {
		out[i] = &proto.Message{Key: raw(m.Key), Value: raw(m.Value)}
	}
	return out
}

// produce sends req.Messages to req.Topic/req.Partition, req.Batch messages per Produce request
// (all in one by default) req.IntervalMs apart, and answers each message's offset as the client
// reports it. On failure the client retries req.Retries times (default 3) 200 ms apart.
func produce(req request) {
	b := dial(req)
	defer b.Close()
	conf := kafka.NewProducerConf()
	conf.Compression = compression(req.Compression)
	if req.Acks != nil {
		conf.RequiredAcks = *req.Acks
	}
	conf.RetryLimit = 3
	if req.Retries > 0 {
		conf.RetryLimit = req.Retries
	}
	p := b.Producer(conf)
	msgs := messages(req)
	batch := req.Batch
	if batch <= 0 {
		batch = len(msgs)
	}
	offsets := []int64{}
	for i := 0; i < len(msgs); i += batch {
		end := i + batch
		if end > len(msgs) {
			end = len(msgs)
		}
		if i > 0 && req.IntervalMs > 0 {
			time.Sleep(time.Duration(req.IntervalMs) * time.Millisecond)
		}
		if _, err := p.Produce(req.Topic, req.Partition, msgs[i:end]...); err != nil {
			fail(fmt.Errorf("produce messages %d..%d: %v", i, end-1, err))
		}
		for _, m := range msgs[i:end] {
			offsets = append(offsets, m.Offset)
		}
	}
	answer(map[string]interface{}{"offsets": offsets})
}

// distribute sends each message through one of the client's distributing producers
// (req.Distribute: "hash", "roundrobin") over req.Partitions partitions.
func distribute(req request) {
	b := dial(req)
	defer b.Close()
	conf := kafka.NewProducerConf()
	conf.Compression = compression(req.Compression)
	conf.RetryLimit = 3
	var d kafka.DistributingProducer
	switch req.Distribute {
	case "hash":
		d = kafka.NewHashProducer(b.Producer(conf), req.Partitions)
	case "roundrobin":
		d = kafka.NewRoundRobinProducer(b.Producer(conf), req.Partitions)
	default:
		fail(fmt.Errorf("unknown distribute %q", req.Distribute))
	}
	out := []record{}
	for _, m := range messages(req) {
		if _, err := d.Distribute(req.Topic, m); err != nil {
			fail(err)
		}
		out = append(out, record{Partition: m.Partition, Offset: m.Offset, Key: str(m.Key), Value: str(m.Value)})
	}
	answer(map[string]interface{}{"records": out})
}

// consume reads req.Count messages of req.Topic/req.Partition from req.StartOffset (oldest by
// default) with the client's Consumer (negotiated Fetch version), retrying a failed fetch
// req.Retries times (default 5) 200 ms apart, then checks that no further message arrives within
// a short wait.
func consume(req request) {
	b := dial(req)
	defer b.Close()
	conf := kafka.NewConsumerConf(req.Topic, req.Partition)
	conf.StartOffset = kafka.StartOffsetOldest
	if req.StartOffset != nil {
		conf.StartOffset = *req.StartOffset
	}
	conf.RetryLimit = 100 // * 50 ms
	conf.RetryErrLimit = 5
	if req.Retries > 0 {
		conf.RetryErrLimit = req.Retries
	}
	conf.RetryErrWait = 200 * time.Millisecond
	c, err := b.Consumer(conf)
	if err != nil {
		fail(err)
	}
	out := []record{}
	for len(out) < req.Count {
		m, err := c.Consume()
		if err != nil {
			fail(fmt.Errorf("after %d of %d messages: %v", len(out), req.Count, err))
		}
		out = append(out, record{Partition: m.Partition, Offset: m.Offset, Key: str(m.Key), Value: str(m.Value)})
	}
	// Nothing more: the consumer gives up with ErrNoData after RetryLimit empty fetches.
	conf.RetryLimit = 10
	extra := 0
	c2, err := b.Consumer(conf)
	if err == nil {
		for i := 0; i < len(out); i++ {
			if _, err := c2.Consume(); err != nil {
				fail(err)
			}
		}
		for {
			if _, err := c2.Consume(); err != nil {
				break
			}
			extra++
		}
	}
	answer(map[string]interface{}{"records": out, "extra": extra})
}

// commit stores req.Offset (and req.Metadata) for req.Group with the client's OffsetCoordinator,
// then reads it back with the same coordinator.
func commit(req request) {
	b := dial(req)
	defer b.Close()
	conf := kafka.NewOffsetCoordinatorConf(req.Group)
	conf.RetryErrLimit = 3
	conf.RetryErrWait = 200 * time.Millisecond
	c, err := b.OffsetCoordinator(conf)
	if err != nil {
		fail(fmt.Errorf("coordinator: %v", err))
	}
	// The concrete coordinator also has CommitFull (offset and metadata); the interface does not.
	full := c.(interface {
		CommitFull(topic string, partition int32, offset int64, metadata string) error
	})
	if err := full.CommitFull(req.Topic, req.Partition, req.Offset, req.Metadata); err != nil {
		fail(fmt.Errorf("commit: %v", err))
	}
	committed(req)
}

// committed reads the committed offset of req.Group for req.Topic/req.Partition.
func committed(req request) {
	b := dial(req)
	defer b.Close()
	conf := kafka.NewOffsetCoordinatorConf(req.Group)
	conf.RetryErrLimit = 3
	conf.RetryErrWait = 200 * time.Millisecond
	c, err := b.OffsetCoordinator(conf)
	if err != nil {
		fail(fmt.Errorf("coordinator: %v", err))
	}
	offset, metadata, err := c.Offset(req.Topic, req.Partition)
	if err != nil {
		fail(fmt.Errorf("offset: %v", err))
	}
	answer(map[string]interface{}{"offset": offset, "metadata": metadata})
}

// metadata answers the client's view: brokers, and per topic its partitions with leader and error.
func metadata(req request) {
	b := dial(req)
	defer b.Close()
	m, err := b.Metadata()
	if err != nil {
		fail(err)
	}
	brokers := []map[string]interface{}{}
	for _, br := range m.Brokers {
		brokers = append(brokers, map[string]interface{}{"nodeId": br.NodeID, "host": br.Host, "port": br.Port})
	}
	topics := map[string]interface{}{}
	for _, t := range m.Topics {
		parts := []map[string]interface{}{}
		for _, p := range t.Partitions {
			parts = append(parts, map[string]interface{}{"id": p.ID, "leader": p.Leader, "error": errString(p.Err)})
		}
		topics[t.Name] = map[string]interface{}{"error": errString(t.Err), "partitions": parts}
	}
	count, err := b.PartitionCount(req.Topic)
	answer(map[string]interface{}{
		"brokers": brokers, "topics": topics, "partitionCount": count, "partitionCountError": errString(err),
		"controllerId": m.ControllerID, "clusterId": m.ClusterID,
	})
}

// offsets answers the earliest and latest offsets of req.Topic/req.Partition (ListOffsets).
func offsets(req request) {
	b := dial(req)
	defer b.Close()
	earliest, err := b.OffsetEarliest(req.Topic, req.Partition)
	if err != nil {
		fail(fmt.Errorf("earliest: %v", err))
	}
	latest, err := b.OffsetLatest(req.Topic, req.Partition)
	if err != nil {
		fail(fmt.Errorf("latest: %v", err))
	}
	answer(map[string]interface{}{"earliest": earliest, "latest": latest})
}

// createTopic creates req.Topic with req.Partitions partitions (CreateTopics v0).
func createTopic(req request) {
	b := dial(req)
	defer b.Close()
	resp, err := b.CreateTopic([]proto.TopicInfo{{Topic: req.Topic, NumPartitions: req.Partitions, ReplicationFactor: 1}}, 5*time.Second, false)
	if err != nil {
		fail(err)
	}
	errs := map[string]string{}
	for _, e := range resp.TopicErrors {
		errs[e.Topic] = errString(e.Err)
	}
	answer(map[string]interface{}{"errors": errs})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// rawConn sends driver-encoded requests at a fixed version on one TCP connection.
type rawConn struct {
	conn net.Conn
	rd   *bufio.Reader
	corr int32
}

func (c *rawConn) call(req proto.Request, version int16) []byte {
	c.corr++
	proto.SetVersion(req.GetHeader(), version)
	proto.SetCorrelationID(req.GetHeader(), c.corr)
	req.SetClientID("sluice-optiopay-raw")
	c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := req.WriteTo(c.conn); err != nil {
		fail(fmt.Errorf("api %d v%d: write: %v", req.Kind(), version, err))
	}
	corr, body, err := proto.ReadResp(c.rd)
	if err != nil {
		fail(fmt.Errorf("api %d v%d: read: %v", req.Kind(), version, err))
	}
	if corr != c.corr {
		fail(fmt.Errorf("api %d v%d: correlation id %d, want %d", req.Kind(), version, corr, c.corr))
	}
	return body
}

// versions sends, on one raw connection, every request the driver encodes at every version it
// knows: ApiVersions, Metadata, Produce (one message per version; acks=1), ListOffsets latest (at
// most 10 offsets), Fetch from offset 0, GroupCoordinator, OffsetCommit (offset = 100 + version)
// and OffsetFetch, each decoded by the driver. It answers what each call returned.
func versions(req request) {
	conn, err := net.DialTimeout("tcp", req.Brokers[0], 5*time.Second)
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	c := &rawConn{conn: conn, rd: bufio.NewReader(conn)}
	out := map[string]interface{}{}
	max := func(kind int16) int16 { return proto.SupportedByDriver[kind].MaxVersion }
	dec := func(name string, v int16, what interface{}, err error) interface{} {
		if err != nil {
			fail(fmt.Errorf("%s v%d: decode: %v", name, v, err))
		}
		return what
	}
	for v := int16(0); v <= max(proto.APIVersionsReqKind); v++ {
		r, err := proto.ReadVersionedAPIVersionsResp(bytes.NewReader(c.call(&proto.APIVersionsReq{}, v)), v)
		dec("ApiVersions", v, r, err)
		out[fmt.Sprintf("ApiVersions v%d", v)] = len(r.APIVersions) > 0
	}
	for v := int16(0); v <= max(proto.MetadataReqKind); v++ {
		r, err := proto.ReadVersionedMetadataResp(bytes.NewReader(c.call(&proto.MetadataReq{Topics: []string{req.Topic}, AllowAutoTopicCreation: true}, v)), v)
		dec("Metadata", v, r, err)
		names := []string{}
		for _, t := range r.Topics {
			names = append(names, fmt.Sprintf("%s:%d:%s", t.Name, len(t.Partitions), errString(t.Err)))
		}
		out[fmt.Sprintf("Metadata v%d", v)] = names
	}
	for v := int16(0); v <= max(proto.ProduceReqKind); v++ {
		value := fmt.Sprintf("produce-v%d", v)
		key := fmt.Sprintf("k%d", v)
		r, err := proto.ReadVersionedProduceResp(bytes.NewReader(c.call(&proto.ProduceReq{
			Compression: compression(req.Compression), RequiredAcks: proto.RequiredAcksLocal, Timeout: 5 * time.Second,
			Topics: []proto.ProduceReqTopic{{Name: req.Topic, Partitions: []proto.ProduceReqPartition{{ID: 0, Messages: []*proto.Message{{Key: []byte(key), Value: []byte(value)}}}}}},
		}, v)), v)
		dec("Produce", v, r, err)
		p := r.Topics[0].Partitions[0]
		out[fmt.Sprintf("Produce v%d", v)] = fmt.Sprintf("offset %d %s", p.Offset, errString(p.Err))
	}
	for v := int16(0); v <= max(proto.OffsetReqKind); v++ {
		r, err := proto.ReadVersionedOffsetResp(bytes.NewReader(c.call(&proto.OffsetReq{
			ReplicaID: -1, Topics: []proto.OffsetReqTopic{{Name: req.Topic, Partitions: []proto.OffsetReqPartition{{ID: 0, TimeMs: -1, MaxOffsets: 10}}}},
		}, v)), v)
		dec("ListOffsets", v, r, err)
		p := r.Topics[0].Partitions[0]
		out[fmt.Sprintf("ListOffsets v%d", v)] = fmt.Sprintf("%v %s", p.Offsets, errString(p.Err))
	}
	for v := int16(0); v <= max(proto.FetchReqKind); v++ {
		r, err := proto.ReadVersionedFetchResp(bytes.NewReader(c.call(&proto.FetchReq{
			ReplicaID: -1, MaxWaitTime: 100 * time.Millisecond, MinBytes: 1, MaxBytes: 1 << 20,
			Topics: []proto.FetchReqTopic{{Name: req.Topic, Partitions: []proto.FetchReqPartition{{ID: 0, FetchOffset: 0, MaxBytes: 1 << 20}}}},
		}, v)), v)
		dec("Fetch", v, r, err)
		p := r.Topics[0].Partitions[0]
		got := []string{}
		for _, m := range p.Messages {
			got = append(got, fmt.Sprintf("%d:%s:%s", m.Offset, m.Key, m.Value))
		}
		for _, b := range p.RecordBatches {
			for _, rec := range b.Records {
				got = append(got, fmt.Sprintf("%d:%s:%s", b.FirstOffset+rec.OffsetDelta, rec.Key, rec.Value))
			}
		}
		out[fmt.Sprintf("Fetch v%d", v)] = map[string]interface{}{
			"error": errString(p.Err), "highWatermark": p.TipOffset, "messageVersion": p.MessageVersion, "records": got,
		}
	}
	// GroupCoordinator v0 only: the driver's v1 encoding leaves out key_type (its Bytes() writes
	// the group id alone), a truncated request Kafka refuses by closing the connection.
	for v := int16(0); v <= 0; v++ {
		r, err := proto.ReadVersionedConsumerMetadataResp(bytes.NewReader(c.call(&proto.ConsumerMetadataReq{ConsumerGroup: req.Group}, v)), v)
		dec("GroupCoordinator", v, r, err)
		out[fmt.Sprintf("GroupCoordinator v%d", v)] = fmt.Sprintf("%d %s", r.CoordinatorID, errString(r.Err))
	}
	for v := int16(0); v <= max(proto.OffsetCommitReqKind); v++ {
		r, err := proto.ReadVersionedOffsetCommitResp(bytes.NewReader(c.call(&proto.OffsetCommitReq{
			ConsumerGroup: req.Group, GroupGenerationID: -1, RetentionTime: -1,
			Topics: []proto.OffsetCommitReqTopic{{Name: req.Topic, Partitions: []proto.OffsetCommitReqPartition{{ID: 0, Offset: 100 + int64(v), TimeStamp: time.Now(), Metadata: fmt.Sprintf("m%d", v)}}}},
		}, v)), v)
		dec("OffsetCommit", v, r, err)
		out[fmt.Sprintf("OffsetCommit v%d", v)] = errString(r.Topics[0].Partitions[0].Err)
		f, err := proto.ReadVersionedOffsetFetchResp(bytes.NewReader(c.call(&proto.OffsetFetchReq{
			ConsumerGroup: req.Group, Topics: []proto.OffsetFetchReqTopic{{Name: req.Topic, Partitions: []int32{0}}},
		}, v)), v)
		dec("OffsetFetch", v, f, err)
		p := f.Topics[0].Partitions[0]
		out[fmt.Sprintf("OffsetFetch v%d", v)] = fmt.Sprintf("%d %s %s", p.Offset, p.Metadata, errString(p.Err))
	}
	// The client's OffsetCoordinator commits with generation 0 and no member id (not -1): a
	// group that does not exist gets ILLEGAL_GENERATION from Kafka (OffsetCommit below v9).
	r, err := proto.ReadVersionedOffsetCommitResp(bytes.NewReader(c.call(&proto.OffsetCommitReq{
		ConsumerGroup: req.Group + "-generation-0",
		Topics:        []proto.OffsetCommitReqTopic{{Name: req.Topic, Partitions: []proto.OffsetCommitReqPartition{{ID: 0, Offset: 1}}}},
	}, 3)), 3)
	dec("OffsetCommit", 3, r, err)
	out["OffsetCommit v3 generation 0"] = errString(r.Topics[0].Partitions[0].Err)
	answer(out)
}

// fetch reads req.Count records of req.Topic/req.Partition from req.StartOffset (0 by default)
// with driver-encoded Fetch requests at req.Version on a raw connection (the Consumer always
// negotiates the driver's highest version, v5). Answers the records and the message format
// versions the broker answered in.
func fetch(req request) {
	conn, err := net.DialTimeout("tcp", req.Brokers[0], 5*time.Second)
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	c := &rawConn{conn: conn, rd: bufio.NewReader(conn)}
	offset := int64(0)
	if req.StartOffset != nil {
		offset = *req.StartOffset
	}
	out := []record{}
	formats := map[string]bool{}
	deadline := time.Now().Add(15 * time.Second)
	for len(out) < req.Count {
		if time.Now().After(deadline) {
			fail(fmt.Errorf("fetch v%d: %d of %d records after 15 s", req.Version, len(out), req.Count))
		}
		r, err := proto.ReadVersionedFetchResp(bytes.NewReader(c.call(&proto.FetchReq{
			ReplicaID: -1, MaxWaitTime: 200 * time.Millisecond, MinBytes: 1, MaxBytes: 1 << 20,
			Topics: []proto.FetchReqTopic{{Name: req.Topic, Partitions: []proto.FetchReqPartition{{ID: req.Partition, FetchOffset: offset, MaxBytes: 1 << 20}}}},
		}, req.Version)), req.Version)
		if err != nil {
			fail(fmt.Errorf("fetch v%d at %d: %v", req.Version, offset, err))
		}
		p := r.Topics[0].Partitions[0]
		if p.Err != nil {
			fail(fmt.Errorf("fetch v%d at %d: %v", req.Version, offset, p.Err))
		}
		formats[fmt.Sprint(p.MessageVersion)] = true
		for _, m := range p.Messages {
			if m.Offset >= offset {
				out = append(out, record{Partition: req.Partition, Offset: m.Offset, Key: str(m.Key), Value: str(m.Value)})
				offset = m.Offset + 1
			}
		}
		for _, b := range p.RecordBatches {
			for _, rec := range b.Records {
				o := b.FirstOffset + rec.OffsetDelta
				if o >= offset {
					out = append(out, record{Partition: req.Partition, Offset: o, Key: str(rec.Key), Value: str(rec.Value)})
					offset = o + 1
				}
			}
		}
	}
	answer(map[string]interface{}{"records": out, "formats": formats})
}

func main() {
	var req request
	common.Main("sluice_optiopay", &req, map[string]func(){
		"produce":    func() { produce(req) },
		"distribute": func() { distribute(req) },
		"consume":    func() { consume(req) },
		"commit":     func() { commit(req) },
		"committed":  func() { committed(req) },
		"metadata":   func() { metadata(req) },
		"offsets":    func() { offsets(req) },
		"create":     func() { createTopic(req) },
		"fetch":      func() { fetch(req) },
		"versions":   func() { versions(req) },
	})
}
