package grpcsession

// The append stream: lone appends and creates sent on one AppendEventStream
// kept open, one at a time.
//
// A unary call's own machinery (on both sides) is most of what a lone
// append or create costs, far more than one more message on a stream that
// is already open. So a write that goes alone is sent as a message on a
// stream that stays open between writes.
//
// One write at a time: the stream is busy from the write until its answer
// is read, and a write that finds it busy goes in a call of its own. A
// write whose context ends first drops the stream (its answer may still
// come, and would answer the next write); so does any failure of the stream
// itself, and the next write opens a new one. A stream the server ended (it
// is draining) without answering is replaced at once, once: the server
// answers everything it read before it ends a stream, so the write was not
// read.
//
// A write on the stream is one attempt of the retry loop (retry.go), as a
// call is: a write that failed on the stream (the server went away, say) is
// sent again on a new stream after a backoff, within the same time budget.
// That new stream is opened grpc.WaitForReady, so while the server is down
// it waits for the connection instead of failing and being replaced again at
// once: reopening never spins.

import (
	"context"
	"errors"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
)

// errStreamEnded is the failure of a write whose stream the server ended
// (with OK) before answering it: unavailable, so the write is sent again.
var errStreamEnded = status.Error(codes.Unavailable,
	"the server ended the append stream before answering (it is shutting down)")

// appendStream is the append stream of one Service.
type appendStream struct {
	client sessionsv1.SessionServiceClient
	// root is the context streams are opened in: the Service's, with its
	// metadata; it ends when the Service is closed.
	root context.Context

	busy   sync.Mutex // held while a write is on the stream; guards the fields below
	stream sessionsv1.SessionService_AppendEventStreamClient
	cancel context.CancelFunc // ends stream
}

// exchange sends request on the stream and returns its answer, within ctx.
// used is false when the stream was busy: then nothing was sent.
func (a *appendStream) exchange(ctx context.Context, request *sessionsv1.AppendEventStreamRequest) (
	answer *sessionsv1.AppendEventStreamResponse, used bool, err error) {
	if !a.busy.TryLock() {
		return nil, false, nil
	}
	defer a.busy.Unlock()
	for reopened := false; ; reopened = true {
		opened := a.stream == nil
		var streamCtx context.Context
		if opened {
			streamCtx, a.cancel = context.WithCancel(a.root)
		}
		// The stream outlives ctx; ctx ending first ends the stream (and so
		// the write, and an open that waits for the connection).
		stop := context.AfterFunc(ctx, a.cancel)
		err = nil
		if opened {
			waitForReady := ctx.Value(waitForReadyKey{}) != nil // a retry's (see retry.go)
			a.stream, err = a.client.AppendEventStream(streamCtx, grpc.WaitForReady(waitForReady))
		}
		if err == nil {
			answer, err = exchangeOn(a.stream, request)
		}
		if !stop() { // ctx ended the stream: an answer read before that still stands
			a.drop()
			if err == nil {
				return answer, true, nil
			}
			return nil, true, status.FromContextError(ctx.Err()).Err()
		}
		if err == nil {
			return answer, true, nil
		}
		a.drop()
		if !errors.Is(err, errStreamEnded) || opened || reopened {
			return nil, true, err
		}
	}
}

// drop ends the stream, if any: the next write opens a new one.
func (a *appendStream) drop() {
	if a.cancel != nil {
		a.cancel()
	}
	a.stream, a.cancel = nil, nil
}

// exchangeOn writes request on stream and reads its answer; errStreamEnded
// if the server ended the stream (with OK) before answering.
func exchangeOn(stream sessionsv1.SessionService_AppendEventStreamClient,
	request *sessionsv1.AppendEventStreamRequest) (*sessionsv1.AppendEventStreamResponse, error) {
	if err := stream.Send(request); err != nil {
		if !errors.Is(err, io.EOF) {
			return nil, err
		}
		// The stream has ended: its status is what Recv returns.
	}
	answer, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return nil, errStreamEnded
	}
	return answer, err
}
