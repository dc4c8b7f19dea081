package grpcsession

// A watch (WatchSession, WatchSessions) as a chain of streams: open one, read
// it, and when it breaks open the next, until the watch is done. Opening a
// stream follows the retry rule of retry.go: within the service's time
// budget (WithTimeout) it rides out a server that is down, backing off, and
// fails with ErrUnavailable if the server stays unreachable for the whole
// budget. The server sends a first message at once, so opening includes
// reading it: until it comes the server may not even have been reached. An
// open stream has no deadline; when it breaks (a lost connection, a server
// draining with "SERVER_DRAINING", a watcher cut off for falling behind with
// "WATCHER_TOO_SLOW") the next one is opened with a fresh budget. follow owns
// that loop; each watch says where its next stream starts and what a message
// means (streamSteps).

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// streamClosed is why a watch stream that closed with OK is opened again: the
// server never ends one that way while watched; a proxy may.
const streamClosed = "the watch stream closed while it was watched"

// streamSteps is what one kind of watch, of messages M yielding updates U,
// adds to the loop follow runs.
type streamSteps[M, U any] struct {
	// start opens a stream from where the watch stands now (its resume point).
	start func(context.Context) (grpc.ServerStreamingClient[M], error)
	// updatesOf returns what one message carries, and whether it ends the watch.
	updatesOf func(*M) ([]U, bool, error)
	// resumed, if not nil, is yielded when a new stream replaces a broken one.
	resumed *U
	// gone, if not nil, is yielded last when what is watched is not found on
	// reconnecting; nil: the error is.
	gone *U
}

// follow yields the updates of stream after stream opened by steps, until a
// message ends the watch, the loop breaks, ctx ends, or a stream cannot be
// opened within the service's time budget or fails for good (the last
// pair's error).
func follow[M, U any](ctx context.Context, s *Service, steps streamSteps[M, U], yield func(U, error) bool) {
	if len(s.metadata) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, s.metadata...)
	}
	var none U
	var failed error // why the last stream broke (retried), nil for the first
	for {
		stream, message, cancel, err := openStream(ctx, s, failed, steps.start)
		if err != nil {
			if failed != nil && steps.gone != nil && errors.Is(err, ErrSessionNotFound) {
				yield(*steps.gone, nil)
				return
			}
			yield(none, err)
			return
		}
		if failed != nil && steps.resumed != nil && !yield(*steps.resumed, nil) {
			cancel()
			return
		}
		for {
			updates, ended, decodeErr := steps.updatesOf(message)
			if decodeErr != nil {
				cancel()
				yield(none, decodeErr)
				return
			}
			for _, update := range updates {
				if !yield(update, nil) {
					cancel()
					return
				}
			}
			if ended {
				cancel()
				return
			}
			message, err = stream.Recv()
			if err != nil {
				break
			}
		}
		cancel()
		if ctx.Err() != nil {
			yield(none, ctx.Err())
			return
		}
		if errors.Is(err, io.EOF) {
			err = status.Error(codes.Unavailable, streamClosed)
		}
		if !resumable(ctx, err) {
			yield(none, errorFromRPC(err))
			return
		}
		failed = err
	}
}

// resumable says whether a broken stream is opened again after the last
// revision: as retried calls are, and after "WATCHER_TOO_SLOW".
func resumable(ctx context.Context, err error) bool {
	if retried(ctx, err) {
		return true
	}
	var failure *Error
	return errors.As(errorFromRPC(err), &failure) &&
		failure.Code == codes.ResourceExhausted && failure.Reason == "WATCHER_TOO_SLOW"
}

// openStream opens a stream with start and reads its first message (the
// server sends one at once), retrying within the service's time budget;
// failed is why the previous stream broke (nil: the watch starts). cancel
// ends the stream.
func openStream[M any](ctx context.Context, s *Service, failed error,
	start func(context.Context) (grpc.ServerStreamingClient[M], error)) (grpc.ServerStreamingClient[M], *M,
	context.CancelFunc, error) {
	var deadline time.Time
	if s.timeout > 0 {
		deadline = time.Now().Add(s.timeout)
	}
	for retry := 1; ; retry++ {
		if failed != nil {
			wait := s.retry.backoff(retry)
			if !deadline.IsZero() && time.Until(deadline) < wait {
				return nil, nil, nil, errorFromRPC(failed)
			}
			select {
			case <-ctx.Done():
				return nil, nil, nil, ctx.Err()
			case <-time.After(wait):
			}
		}
		streamCtx, cancel := context.WithCancel(ctx)
		if failed != nil {
			streamCtx = context.WithValue(streamCtx, waitForReadyKey{}, true)
		}
		var outOfTime atomic.Bool
		var timer *time.Timer
		if !deadline.IsZero() {
			// The stream itself has no deadline; only the wait for its first message has.
			timer = time.AfterFunc(time.Until(deadline), func() { outOfTime.Store(true); cancel() })
		}
		stream, err := start(streamCtx)
		var first *M
		if err == nil {
			first, err = stream.Recv()
		}
		if timer != nil && !timer.Stop() && outOfTime.Load() {
			cancel()
			if failed != nil {
				return nil, nil, nil, errorFromRPC(failed)
			}
			return nil, nil, nil, errorFromRPC(status.Error(codes.Unavailable,
				"the server could not be reached within the call's time budget"))
		}
		if err == nil {
			return stream, first, cancel, nil
		}
		cancel()
		if errors.Is(err, io.EOF) {
			err = status.Error(codes.Unavailable, streamClosed)
		}
		if ctx.Err() != nil {
			return nil, nil, nil, ctx.Err()
		}
		if !resumable(ctx, err) {
			return nil, nil, nil, errorFromRPC(err)
		}
		failed = err
	}
}
