package grpcsession

// The write pipeline: which way each write (an append, a create) goes,
// alone or in a batch.
//
// A write call's gRPC machinery costs more, on both sides, than the write it
// carries. So while a call of one kind of write is open, writes of that kind
// made meanwhile do not each open a call: they queue, and a dispatcher
// goroutine sends what has queued by the time it runs in batch calls
// (BatchAppendEvents, BatchCreateSessions) of at most maxPerCall writes and
// maxBatchBytes, at most maxInFlight calls at once. There is no batching
// window and no timer: a write made while nothing of its kind is open is sent
// at once, on its own (on the append stream if it is free), and batches form
// only from writes made while calls are open, which would otherwise queue.
// Each write keeps its own outcome: its caller gets the result, or the error
// the write alone would have returned. What differs between kinds of write
// is their route (write_routes.go): the pipeline is the same.
//
// Each write is one operation of the retry loop (retry.go), with its
// context: the caller's, with the service's time budget. While the write
// waits for a free call, its context ending fails it as a call would have
// (UNAVAILABLE while the server is unreachable), and it is never sent. Once
// sent, the send settles the write by its deadline; a caller that cancels
// its context returns at once, and no other write notices. A batch is tried
// (and retried whole on UNAVAILABLE) until the earliest deadline of its
// writes, in a context no caller can cancel; a write the batch answered with
// a failure of its own goes on alone as the next attempt of its own
// operation, which judges that failure first (so a create retried whole
// after a lost answer meets ALREADY_EXISTS exactly as a lone create retried
// would).

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const (
	// DefaultMaxAppendsInFlight is how many calls of one kind of write
	// (appends, creates) a Service keeps open at once unless
	// WithMaxAppendsInFlight says otherwise.
	DefaultMaxAppendsInFlight = 8
	// maxPerCall is the most writes in one batch call: small enough that a
	// burst goes in several calls, which the client, the server and the
	// database then work on at the same time; large enough that a call's own
	// cost is shared.
	maxPerCall = 16
	// maxBatchBytes is the most request bytes in one batch call: well under
	// the server's default message limit (32 MiB).
	maxBatchBytes = 4 << 20
)

// writeRoute is how one kind of write travels: alone, and in a batch.
type writeRoute[Request proto.Message, Result any] interface {
	// alone is one attempt of one write on its own.
	alone(ctx context.Context, request Request) (Result, error)
	// together is one attempt of a batch: the outcome of each write, in
	// order. Its error is the failure of the call as a whole.
	together(ctx context.Context, requests []Request) ([]outcome[Result], error)
}

// outcome is what one write of a batch came to: its result, or its own
// failure (a gRPC status error, for its operation to judge).
type outcome[Result any] struct {
	result Result
	err    error
}

// queuedWrite is a write waiting for a free call, and where its answer goes.
type queuedWrite[Request proto.Message, Result any] struct {
	ctx     context.Context // the write's operation's
	request Request
	size    int
	sent    bool          // taken from the queue; guarded by the pipeline's mu
	done    chan struct{} // closed once result and err are set
	result  Result
	err     error
}

func (w *queuedWrite[Request, Result]) settle(result Result, err error) {
	w.result, w.err = result, err
	close(w.done)
}

// writePipeline sends the writes of one kind of one Service.
type writePipeline[Request proto.Message, Result any] struct {
	service     *Service
	route       writeRoute[Request, Result]
	maxInFlight int // 0: every write in a call of its own
	closed      <-chan struct{}

	start sync.Once
	wake  chan struct{} // the dispatcher has work; buffered, so wakes made meanwhile merge

	mu       sync.Mutex
	inFlight int
	queue    []*queuedWrite[Request, Result]
}

func newWritePipeline[Request proto.Message, Result any](service *Service, route writeRoute[Request, Result],
	maxInFlight int, closed <-chan struct{}) *writePipeline[Request, Result] {
	return &writePipeline[Request, Result]{
		service: service, route: route, maxInFlight: maxInFlight, closed: closed, wake: make(chan struct{}, 1),
	}
}

// send makes one write within ctx (the operation's: the caller's, with the
// service's time budget) and returns what the write alone would return.
func (p *writePipeline[Request, Result]) send(ctx context.Context, request Request) (Result, error) {
	if p.maxInFlight == 0 {
		return p.alone(ctx, request, nil)
	}
	p.mu.Lock()
	if p.inFlight == 0 && len(p.queue) == 0 {
		p.inFlight++
		p.mu.Unlock()
		defer p.finished()
		return p.alone(ctx, request, nil)
	}
	select {
	case <-p.closed: // no dispatcher will send it
		p.mu.Unlock()
		var none Result
		return none, errClosed()
	default:
	}
	write := &queuedWrite[Request, Result]{ctx: ctx, request: request, size: proto.Size(request), done: make(chan struct{})}
	p.queue = append(p.queue, write)
	p.mu.Unlock()
	p.signal()
	select {
	case <-write.done:
		return write.result, write.err
	case <-ctx.Done():
	}
	p.mu.Lock()
	sent := write.sent
	if !sent {
		p.queue = slices.DeleteFunc(p.queue, func(queued *queuedWrite[Request, Result]) bool { return queued == write })
	}
	p.mu.Unlock()
	if !sent || ctx.Err() == context.Canceled {
		var none Result
		return none, p.service.outOfTime(status.FromContextError(ctx.Err()).Err())
	}
	<-write.done // sent: settled by the deadline, with why it failed
	return write.result, write.err
}

// alone runs one write on its own as its operation; failed: the failure
// its batch answered it with, if any.
func (p *writePipeline[Request, Result]) alone(ctx context.Context, request Request, failed error) (Result, error) {
	var result Result
	err := p.service.retrying(ctx, func(ctx context.Context) (err error) {
		result, err = p.route.alone(ctx, request)
		return err
	}, failed)
	return result, err
}

// signal wakes the dispatcher (started on first use).
func (p *writePipeline[Request, Result]) signal() {
	p.start.Do(func() { go p.dispatcher() })
	select {
	case p.wake <- struct{}{}:
	default: // a wake is already pending
	}
}

// finished ends a call: another may start.
func (p *writePipeline[Request, Result]) finished() {
	p.mu.Lock()
	p.inFlight--
	waiting := len(p.queue) > 0
	p.mu.Unlock()
	if waiting {
		p.signal()
	}
}

// dispatcher sends what waits whenever woken, until the service is closed;
// then it fails what waits, as a closed connection fails a call.
func (p *writePipeline[Request, Result]) dispatcher() {
	for {
		select {
		case <-p.wake:
			// Callers a finished call woke are runnable now: let them
			// queue their next writes first, so that those go together.
			runtime.Gosched()
			p.dispatch()
		case <-p.closed:
			p.mu.Lock()
			queue := p.queue
			p.queue = nil
			for _, write := range queue {
				write.sent = true
			}
			p.mu.Unlock()
			for _, write := range queue {
				var none Result
				write.settle(none, errClosed())
			}
			return
		}
	}
}

// errClosed is the error of a write still waiting when the service is
// closed, as a closed connection fails a call.
func errClosed() error {
	return errorFromRPC(status.Error(codes.Canceled, "grpcsession: the service is closed"))
}

// dispatch sends what waits, in batches, while calls are free.
func (p *writePipeline[Request, Result]) dispatch() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.queue) > 0 && p.inFlight < p.maxInFlight {
		count, size := 1, p.queue[0].size
		for count < len(p.queue) && count < maxPerCall && size+p.queue[count].size <= maxBatchBytes {
			size += p.queue[count].size
			count++
		}
		batch := slices.Clone(p.queue[:count])
		p.queue = slices.Delete(p.queue, 0, count)
		for _, write := range batch {
			write.sent = true
		}
		p.inFlight++
		go p.sendBatch(batch)
	}
}

// sendBatch sends writes taken from the queue: alone if one, else together.
func (p *writePipeline[Request, Result]) sendBatch(batch []*queuedWrite[Request, Result]) {
	defer p.finished()
	batch = slices.DeleteFunc(batch, func(write *queuedWrite[Request, Result]) bool {
		if write.ctx.Err() == nil {
			return false
		}
		var none Result // its caller gave up, or its deadline passed as it was taken
		write.settle(none, p.service.outOfTime(status.FromContextError(write.ctx.Err()).Err()))
		return true
	})
	switch len(batch) {
	case 0:
		return
	case 1:
		batch[0].settle(p.alone(batch[0].ctx, batch[0].request, nil))
		return
	}
	ctx, cancel := p.batchContext(batch)
	defer cancel()
	requests := make([]Request, len(batch))
	for i, write := range batch {
		requests[i] = write.request
	}
	var outcomes []outcome[Result]
	err := p.service.retrying(ctx, func(ctx context.Context) (err error) {
		outcomes, err = p.route.together(ctx, requests)
		return err
	}, nil)
	if err != nil {
		for _, write := range batch {
			var none Result
			write.settle(none, err)
		}
		return
	}
	var failed sync.WaitGroup
	for i, write := range batch {
		if outcomes[i].err == nil {
			write.settle(outcomes[i].result, nil)
			continue
		}
		failed.Go(func() { write.settle(p.alone(write.ctx, write.request, outcomes[i].err)) })
	}
	failed.Wait()
}

// batchContext is the context of a batch's operation: until the earliest
// deadline of its writes, with the service's metadata, and cancelled by no
// caller (the service's closing aside).
func (p *writePipeline[Request, Result]) batchContext(batch []*queuedWrite[Request, Result]) (context.Context, context.CancelFunc) {
	ctx := p.service.writes.root
	var earliest time.Time
	for _, write := range batch {
		if deadline, ok := write.ctx.Deadline(); ok && (earliest.IsZero() || deadline.Before(earliest)) {
			earliest = deadline
		}
	}
	if earliest.IsZero() {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, earliest)
}
