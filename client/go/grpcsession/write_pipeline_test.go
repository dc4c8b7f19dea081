package grpcsession_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/adk/v2/session"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/grpcsession"
	"github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/internal/testserver"
)

// Writes made while calls of their kind are open go together in batch
// calls; a lone write goes on the append stream. Each write still gets what
// it would have got alone.

// metric returns the sum of the samples of a counter the server exports
// whose labels include each of labels (e.g. `method="BatchAppendEvents"`).
func metric(t *testing.T, metricsURL, name string, labels ...string) float64 {
	t.Helper()
	response, err := http.Get(metricsURL)
	if err != nil {
		t.Fatalf("scraping %s: %v", metricsURL, err)
	}
	defer response.Body.Close()
	sum := 0.0
	scanner := bufio.NewScanner(response.Body)
	for scanner.Scan() {
		line := scanner.Text()
		if !strings.HasPrefix(line, name+"{") || slices.ContainsFunc(labels, func(label string) bool {
			return !strings.Contains(line, label)
		}) {
			continue
		}
		value, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += value
	}
	return sum
}

const (
	rpcs             = "adk_grpc_sessions_rpcs_total"
	streamedAppends  = "adk_grpc_sessions_streamed_appends_total"
	streamedCreates  = "adk_grpc_sessions_streamed_creates_total"
	batchedAppends   = "adk_grpc_sessions_batched_appends_total"
	batchedCreates   = "adk_grpc_sessions_batched_creates_total"
	sessionsAtOnce   = 32
	appendsPerWriter = 12
)

// createAtOnce creates n sessions of app from n goroutines at once.
func createAtOnce(t *testing.T, s *grpcsession.Service, app string, n int) []session.Session {
	t.Helper()
	sessions := make([]session.Session, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			created, err := s.Create(t.Context(), &session.CreateRequest{
				AppName: app, UserID: "u", State: map[string]any{"n": i},
			})
			if errs[i] = err; err == nil {
				sessions[i] = created.Session
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Create() at once: %v", err)
	}
	return sessions
}

// appendAtOnce appends count events to each session, one goroutine per
// session, all at once; it returns the events appended to each.
func appendAtOnce(t *testing.T, s *grpcsession.Service, sessions []session.Session, count int) [][]string {
	t.Helper()
	ids := make([][]string, len(sessions))
	errs := make([]error, len(sessions))
	var wg sync.WaitGroup
	for i, sess := range sessions {
		wg.Go(func() {
			for j := range count {
				event := textEvent("agent", fmt.Sprint(j), map[string]any{"last": j})
				if err := s.AppendEvent(t.Context(), sess, event); err != nil {
					errs[i] = fmt.Errorf("append %d to %s: %w", j, sess.ID(), err)
					return
				}
				ids[i] = append(ids[i], event.ID)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("AppendEvent() at once: %v", err)
	}
	return ids
}

// checkStored checks that each session stores exactly the events appended
// to it, in order, with the state they set, and that the in-memory session
// is current (its revision is the stored one: another append succeeds).
func checkStored(t *testing.T, s *grpcsession.Service, sessions []session.Session, ids [][]string) {
	t.Helper()
	for i, sess := range sessions {
		stored := get(t, s, sess)
		var got []string
		for event := range stored.Events().All() {
			got = append(got, event.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(ids[i]) {
			t.Errorf("session %s stores events %v, want %v", sess.ID(), got, ids[i])
		}
		if last := stateOf(stored)["last"]; last != float64(len(ids[i])-1) {
			t.Errorf("session %s state last = %v, want %d", sess.ID(), last, len(ids[i])-1)
		}
		if sess.Events().Len() != len(ids[i]) {
			t.Errorf("session %s holds %d events in memory, want %d", sess.ID(), sess.Events().Len(), len(ids[i]))
		}
	}
	for _, sess := range sessions[:2] {
		if err := s.AppendEvent(t.Context(), sess, textEvent("agent", "after", nil)); err != nil {
			t.Errorf("AppendEvent() after the burst error = %v: the session held is not current", err)
		}
	}
}

func TestManyWritesAtOnceAllLandInBatchCallsAndOnTheStream(t *testing.T) {
	address, metricsURL := testserver.StartWithMetrics(t)
	s := newServiceOn(t, address)
	app := uniqueApp()
	create(t, s, app, "u", nil) // alone: on the stream

	sessions := createAtOnce(t, s, app, sessionsAtOnce)
	ids := appendAtOnce(t, s, sessions, appendsPerWriter)
	checkStored(t, s, sessions, ids)

	listed, err := s.List(t.Context(), &session.ListRequest{AppName: app, UserID: "u"})
	if err != nil || len(listed.Sessions) != sessionsAtOnce+1 {
		t.Fatalf("List() = %d sessions, %v; want %d", len(listed.Sessions), err, sessionsAtOnce+1)
	}
	for _, sess := range sessions {
		if n := stateOf(get(t, s, sess))["n"]; n == nil {
			t.Errorf("session %s lost its initial state", sess.ID())
		}
	}
	batchAppendCalls := metric(t, metricsURL, rpcs, `method="BatchAppendEvents"`, `code="OK"`)
	batchCreateCalls := metric(t, metricsURL, rpcs, `method="BatchCreateSessions"`, `code="OK"`)
	inBatches := metric(t, metricsURL, batchedAppends, `code="OK"`)
	onStream := metric(t, metricsURL, streamedAppends, `code="OK"`)
	createdOnStream := metric(t, metricsURL, streamedCreates, `code="OK"`)
	createdInBatches := metric(t, metricsURL, batchedCreates, `code="OK"`)
	unary := metric(t, metricsURL, rpcs, `method="AppendEvent"`)
	t.Logf("appends: %v in %v batch calls, %v on the stream, %v in calls of their own; creates: %v in %v batch calls, %v on the stream",
		inBatches, batchAppendCalls, onStream, unary, createdInBatches, batchCreateCalls, createdOnStream)
	if batchAppendCalls == 0 || inBatches <= batchAppendCalls || batchCreateCalls == 0 || createdInBatches <= batchCreateCalls {
		t.Errorf("writes made at once did not share batch calls")
	}
	if onStream == 0 || createdOnStream == 0 {
		t.Errorf("no lone write went on the append stream")
	}
	if total := inBatches + onStream + unary; total != sessionsAtOnce*appendsPerWriter+2 {
		t.Errorf("the server stored %v appends, want %d: each exactly once", total, sessionsAtOnce*appendsPerWriter+2)
	}
}

func TestWithTheOptionsOffEveryWriteIsACallOfItsOwn(t *testing.T) {
	address, metricsURL := testserver.StartWithMetrics(t)
	s := newServiceOn(t, address, grpcsession.WithMaxAppendsInFlight(0), grpcsession.WithStreamAppends(false))
	app := uniqueApp()
	sessions := createAtOnce(t, s, app, 16)
	ids := appendAtOnce(t, s, sessions, 4)
	checkStored(t, s, sessions, ids)

	for _, method := range []string{"BatchAppendEvents", "BatchCreateSessions", "AppendEventStream"} {
		if n := metric(t, metricsURL, rpcs, `method="`+method+`"`); n != 0 {
			t.Errorf("%v %s calls, want none", n, method)
		}
	}
	if n := metric(t, metricsURL, streamedAppends) + metric(t, metricsURL, streamedCreates); n != 0 {
		t.Errorf("%v writes on a stream, want none", n)
	}
	if n := metric(t, metricsURL, rpcs, `method="AppendEvent"`, `code="OK"`); n != 16*4+2 {
		t.Errorf("%v AppendEvent calls, want %d", n, 16*4+2)
	}
	if n := metric(t, metricsURL, rpcs, `method="CreateSession"`, `code="OK"`); n != 16 {
		t.Errorf("%v CreateSession calls, want 16", n)
	}
}

// gate holds the first call of method (a write alone) until released, so
// that writes made meanwhile queue behind it; it records the requests of
// every call of batchMethod.
type gate struct {
	method, batchMethod string
	armed               atomic.Bool // by together: the first call of method after it is held
	held                chan struct{}
	release             chan struct{}
	once                sync.Once
	mu                  sync.Mutex
	batches             [][]string // the session id of each write of each batch call
}

func newGate(method, batchMethod string) *gate {
	return &gate{method: method, batchMethod: batchMethod, held: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) interceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	name := method[strings.LastIndex(method, "/")+1:]
	switch name {
	case g.method:
		if !g.armed.Load() {
			break
		}
		g.once.Do(func() {
			close(g.held)
			<-g.release
		})
	case g.batchMethod:
		var ids []string
		switch batch := req.(type) {
		case *sessionsv1.BatchAppendEventsRequest:
			for _, request := range batch.GetRequests() {
				ids = append(ids, request.GetSessionId())
			}
		case *sessionsv1.BatchCreateSessionsRequest:
			for _, request := range batch.GetRequests() {
				ids = append(ids, request.GetSessionId())
			}
		}
		g.mu.Lock()
		g.batches = append(g.batches, ids)
		g.mu.Unlock()
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// together runs first alone, holds it, runs the others meanwhile (they
// queue behind it: one call at a time) and then lets first finish.
func (g *gate) together(first func(), others ...func()) {
	g.armed.Store(true)
	var wg sync.WaitGroup
	wg.Go(first)
	<-g.held
	for _, other := range others {
		wg.Go(other)
	}
	time.Sleep(500 * time.Millisecond) // for the others to queue: they cannot be sent before the release
	close(g.release)
	wg.Wait()
}

func (g *gate) batchCalls() [][]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.batches
}

// heldService is a service with one write call open at a time, not using
// the append stream, whose calls go through g.
func heldService(t *testing.T, g *gate) *grpcsession.Service {
	return newService(t, grpcsession.WithMaxAppendsInFlight(1), grpcsession.WithStreamAppends(false),
		grpcsession.WithDialOptions(grpc.WithUnaryInterceptor(g.interceptor)))
}

func TestAStaleAppendInABatchFailsAsAloneWhileItsNeighboursSucceed(t *testing.T) {
	g := newGate("AppendEvent", "BatchAppendEvents")
	s := heldService(t, g)
	app := uniqueApp()
	first := create(t, s, app, "u", nil)
	stale := create(t, s, app, "u", nil)
	current := get(t, s, stale)
	if err := s.AppendEvent(t.Context(), current, textEvent("agent", "moves it on", nil)); err != nil {
		t.Fatalf("AppendEvent() error = %v", err)
	}
	neighbours := []session.Session{create(t, s, app, "u", nil), create(t, s, app, "u", nil), create(t, s, app, "u", nil)}

	errs := make([]error, len(neighbours))
	var staleErr error
	others := []func(){func() { staleErr = s.AppendEvent(t.Context(), stale, textEvent("agent", "stale", nil)) }}
	for i, sess := range neighbours {
		others = append(others, func() { errs[i] = s.AppendEvent(t.Context(), sess, textEvent("agent", "fine", nil)) })
	}
	g.together(func() { _ = s.AppendEvent(t.Context(), first, textEvent("agent", "alone", nil)) }, others...)

	if batches := g.batchCalls(); len(batches) != 1 || len(batches[0]) != 4 {
		t.Fatalf("batch calls %v, want one of the 4 appends made meanwhile", batches)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("AppendEvent() of neighbour %d error = %v", i, err)
		}
		if n := get(t, s, neighbours[i]).Events().Len(); n != 1 {
			t.Errorf("neighbour %d stores %d events, want 1", i, n)
		}
	}
	alone := s.AppendEvent(t.Context(), stale, textEvent("agent", "stale alone", nil))
	if !errors.Is(staleErr, grpcsession.ErrStaleSession) || staleErr.Error() != alone.Error() {
		t.Errorf("the stale append in a batch failed with %v, want what it fails with alone: %v", staleErr, alone)
	}
	if n := get(t, s, stale).Events().Len(); n != 1 {
		t.Errorf("the stale session stores %d events, want 1 (none of the stale appends)", n)
	}
}

func TestADuplicateCreateInABatchIsAlreadyExistsWhileItsNeighboursSucceed(t *testing.T) {
	g := newGate("CreateSession", "BatchCreateSessions")
	s := heldService(t, g)
	app := uniqueApp()
	taken := create(t, s, app, "u", nil) // the held first create: alone, in a call of its own
	ids := []string{"n1", "n2", "n3"}
	errs := make([]error, len(ids))
	var duplicateErr error
	others := []func(){func() {
		_, duplicateErr = s.Create(t.Context(), &session.CreateRequest{AppName: app, UserID: "u", SessionID: taken.ID()})
	}}
	for i, id := range ids {
		others = append(others, func() {
			_, errs[i] = s.Create(t.Context(), &session.CreateRequest{AppName: app, UserID: "u", SessionID: id, State: map[string]any{"id": id}})
		})
	}
	g.together(func() { _, _ = s.Create(t.Context(), &session.CreateRequest{AppName: app, UserID: "u"}) }, others...)

	if batches := g.batchCalls(); len(batches) != 1 || len(batches[0]) != 4 {
		t.Fatalf("batch calls %v, want one of the 4 creates made meanwhile", batches)
	}
	for i, id := range ids {
		if errs[i] != nil {
			t.Errorf("Create(%s) error = %v", id, errs[i])
			continue
		}
		got, err := s.Get(t.Context(), &session.GetRequest{AppName: app, UserID: "u", SessionID: id})
		if err != nil || stateOf(got.Session)["id"] != id {
			t.Errorf("Get(%s) = %v, %v; want the session created", id, got, err)
		}
	}
	_, alone := s.Create(t.Context(), &session.CreateRequest{AppName: app, UserID: "u", SessionID: taken.ID()})
	if !errors.Is(duplicateErr, grpcsession.ErrSessionAlreadyExists) || duplicateErr.Error() != alone.Error() {
		t.Errorf("the duplicate create in a batch failed with %v, want what it fails with alone: %v", duplicateErr, alone)
	}
}

func TestACreateInABatchRetriedAfterALostAnswerReturnsTheSessionItMade(t *testing.T) {
	g := newGate("CreateSession", "BatchCreateSessions")
	var lost atomic.Int32
	loseFirstBatch := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if strings.HasSuffix(method, "/BatchCreateSessions") && err == nil && lost.Add(1) == 1 {
			return status.Error(codes.Unavailable, "answer lost after the server acted")
		}
		return err
	}
	s := newService(t, grpcsession.WithMaxAppendsInFlight(1), grpcsession.WithStreamAppends(false),
		grpcsession.WithDialOptions(grpc.WithChainUnaryInterceptor(g.interceptor, loseFirstBatch)))
	app := uniqueApp()
	created := make([]session.Session, 3)
	errs := make([]error, 3)
	var others []func()
	for i := range created {
		others = append(others, func() {
			response, err := s.Create(t.Context(), &session.CreateRequest{AppName: app, UserID: "u", State: map[string]any{"i": i}})
			if errs[i] = err; err == nil {
				created[i] = response.Session
			}
		})
	}
	g.together(func() { _, _ = s.Create(t.Context(), &session.CreateRequest{AppName: app, UserID: "u"}) }, others...)

	if batches := g.batchCalls(); len(batches) != 2 || lost.Load() != 2 {
		t.Fatalf("batch calls %v (%d answered), want the batch and its retry", batches, lost.Load())
	}
	for i, sess := range created {
		if errs[i] != nil {
			t.Errorf("Create() %d error = %v, want the session its lost attempt made", i, errs[i])
		} else if stateOf(sess)["i"] != float64(i) {
			t.Errorf("Create() %d = state %v, want its own", i, stateOf(sess))
		}
	}
	if listed, err := s.List(t.Context(), &session.ListRequest{AppName: app}); err != nil || len(listed.Sessions) != 4 {
		t.Errorf("List() = %v, %v; want the 4 sessions created, once each", listed, err)
	}
}

func TestACallerGivingUpWhileQueuedFailsOnlyItsOwnWrite(t *testing.T) {
	g := newGate("AppendEvent", "BatchAppendEvents")
	s := heldService(t, g)
	app := uniqueApp()
	first := create(t, s, app, "u", nil)
	sessions := []session.Session{create(t, s, app, "u", nil), create(t, s, app, "u", nil), create(t, s, app, "u", nil)}
	ctx, cancel := context.WithCancel(t.Context())
	var cancelledErr error
	errs := make([]error, 2)
	others := []func(){func() {
		cancelledErr = s.AppendEvent(ctx, sessions[0], textEvent("agent", "given up", nil))
	}}
	for i, sess := range sessions[1:] {
		others = append(others, func() { errs[i] = s.AppendEvent(t.Context(), sess, textEvent("agent", "kept", nil)) })
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		<-g.held
		time.Sleep(300 * time.Millisecond) // queued by now, as the first write is held
		cancel()
	})
	g.together(func() { _ = s.AppendEvent(t.Context(), first, textEvent("agent", "alone", nil)) }, others...)
	wg.Wait()

	if status.Code(cancelledErr) != codes.Canceled {
		t.Errorf("the cancelled caller's append error = %v, want CANCELLED", cancelledErr)
	}
	if n := get(t, s, sessions[0]).Events().Len(); n != 0 {
		t.Errorf("the cancelled append was stored (%d events)", n)
	}
	for i, err := range errs {
		if err != nil || get(t, s, sessions[i+1]).Events().Len() != 1 {
			t.Errorf("append %d beside the cancelled one: error = %v", i, err)
		}
	}
}

func TestWritesUnderWayWhileTheServerRestartsEachLandOnce(t *testing.T) {
	for _, how := range []string{"killed", "drained"} {
		t.Run(how, func(t *testing.T) { testWritesUnderWayWhileTheServerRestarts(t, how == "drained") })
	}
}

func testWritesUnderWayWhileTheServerRestarts(t *testing.T, drain bool) {
	server := testserver.StartOnFile(t)
	s := newServiceOn(t, server.Address) // default settings: a 30 s budget
	app := uniqueApp()
	sessions := createAtOnce(t, s, app, 16)

	var done atomic.Bool
	ids := make([][]string, len(sessions))
	errs := make([]error, len(sessions)+4)
	var created atomic.Int32
	var wg sync.WaitGroup
	for i, sess := range sessions {
		wg.Go(func() {
			for j := 0; !done.Load(); j++ {
				event := textEvent("agent", fmt.Sprint(j), map[string]any{"last": j})
				if err := s.AppendEvent(t.Context(), sess, event); err != nil {
					errs[i] = fmt.Errorf("append %d to %s: %w", j, sess.ID(), err)
					return
				}
				ids[i] = append(ids[i], event.ID)
			}
		})
	}
	for i := range 4 {
		wg.Go(func() {
			for !done.Load() {
				if _, err := s.Create(t.Context(), &session.CreateRequest{AppName: app, UserID: "c"}); err != nil {
					errs[len(sessions)+i] = fmt.Errorf("create: %w", err)
					return
				}
				created.Add(1)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if drain {
		server.Stop()
	} else {
		server.Kill()
	}
	time.Sleep(500 * time.Millisecond)
	server.Restart(t)
	time.Sleep(500 * time.Millisecond)
	done.Store(true)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("writes under way across the restart failed: %v", err)
	}
	checkStored(t, s, sessions, ids)
	listed, err := s.List(t.Context(), &session.ListRequest{AppName: app, UserID: "c"})
	if err != nil || len(listed.Sessions) != int(created.Load()) {
		t.Errorf("List() = %d sessions, %v; want the %d created, once each", len(listed.Sessions), err, created.Load())
	}
}

func TestLoneWritesGoOnOneAppendStream(t *testing.T) {
	address, metricsURL := testserver.StartWithMetrics(t)
	s := newServiceOn(t, address)
	sess := create(t, s, uniqueApp(), "u", nil)
	for i := range 5 {
		if err := s.AppendEvent(t.Context(), sess, textEvent("agent", fmt.Sprint(i), nil)); err != nil {
			t.Fatalf("AppendEvent() error = %v", err)
		}
	}
	if n := get(t, s, sess).Events().Len(); n != 5 {
		t.Errorf("stored %d events, want 5", n)
	}
	if appends, creates := metric(t, metricsURL, streamedAppends, `code="OK"`), metric(t, metricsURL, streamedCreates, `code="OK"`); appends != 5 || creates != 1 {
		t.Errorf("%v appends and %v creates on the stream, want 5 and 1", appends, creates)
	}
	for _, method := range []string{"AppendEvent", "CreateSession", "BatchAppendEvents", "BatchCreateSessions"} {
		if n := metric(t, metricsURL, rpcs, `method="`+method+`"`); n != 0 {
			t.Errorf("%v %s calls, want none: every write was alone", n, method)
		}
	}
	// The stream stays open between writes: none of it has ended yet.
	if n := metric(t, metricsURL, rpcs, `method="AppendEventStream"`); n != 0 {
		t.Errorf("%v append streams ended, want the one still open", n)
	}
}

func TestAWriteCarryingItsOwnMetadataGoesInACallOfItsOwn(t *testing.T) {
	var seen []string
	capture := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if strings.HasSuffix(method, "/AppendEvent") {
			md, _ := metadata.FromOutgoingContext(ctx)
			seen = append(seen, md.Get("x-request")...)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	s := newService(t, grpcsession.WithDialOptions(grpc.WithUnaryInterceptor(capture)))
	sess := create(t, s, uniqueApp(), "u", nil)
	ctx := metadata.AppendToOutgoingContext(t.Context(), "x-request", "r1")
	if err := s.AppendEvent(ctx, sess, textEvent("agent", "hi", nil)); err != nil {
		t.Fatalf("AppendEvent() error = %v", err)
	}
	if len(seen) != 1 || seen[0] != "r1" {
		t.Errorf("AppendEvent calls carried %q, want one carrying the caller's r1", seen)
	}
}
