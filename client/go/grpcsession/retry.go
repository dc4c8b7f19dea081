package grpcsession

// Retries: a call is tried until it succeeds, fails for a reason a retry
// cannot change, or its time budget (WithTimeout, and the caller's context)
// is spent; the number of attempts never ends it. A server that restarts is
// down for a second or two, and every call made meanwhile must see it back.
//
// What gRPC does, and why the rest is written here:
//
//   - Waiting for the server to be back is gRPC's: every attempt after a
//     failed one is made with grpc.WaitForReady, so while the connection is
//     re-established it waits (within what remains of the budget) instead of
//     failing at once. The first attempt is not, so that a server that cannot
//     be reached fails fast with gRPC's reason the first time.
//   - Finding the server when it is back is the connection's reconnect
//     backoff, tuned by reconnectParams to try every 0.1 to 0.5 s (gRPC's
//     default grows from 1 s to 120 s, so a server back after a few seconds
//     would be found seconds later still).
//   - Trying a call again is this file's. gRPC's retry policy (service
//     config) ends after an attempt count, at most 5, not after a time
//     budget, and under this loop it would multiply its attempts.
//
// When the budget runs out while the server is unreachable (an attempt
// waiting for the connection meets the deadline, or earlier attempts failed
// with UNAVAILABLE), the call fails with the UNAVAILABLE error
// (ErrUnavailable), as the server being down is the cause; a server that is
// reachable but too slow gives DEADLINE_EXCEEDED.

import (
	"context"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// RetryPolicy says how often a call that fails with UNAVAILABLE (or
// CANCELLED by the server, see retried) is tried again within its time
// budget: exponential backoff with full jitter, capped. Only the budget ends
// the retrying.
type RetryPolicy struct {
	// InitialBackoff bounds the wait before the first retry (the actual wait is random below it).
	InitialBackoff time.Duration
	// MaxBackoff bounds any one wait.
	MaxBackoff time.Duration
	// Multiplier grows the bound after every retry.
	Multiplier float64
}

// DefaultRetryPolicy is the policy of a Service built without
// WithRetryPolicy; it also fills the fields a given policy leaves zero.
var DefaultRetryPolicy = RetryPolicy{
	InitialBackoff: 50 * time.Millisecond,
	MaxBackoff:     time.Second,
	Multiplier:     2,
}

// reconnectParams is the connection's reconnect backoff: a server that is
// back is found within 0.5 s (+20% jitter). MinConnectTimeout stays gRPC's
// 20 s: it is the time one connection attempt is given, not a backoff.
var reconnectParams = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 500 * time.Millisecond},
	MinConnectTimeout: 20 * time.Second,
}

// withDefaults fills the fields of p that are not set (or could not end a
// wait) from DefaultRetryPolicy, so that retries never spin.
func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = DefaultRetryPolicy.InitialBackoff
	}
	if p.MaxBackoff < p.InitialBackoff {
		p.MaxBackoff = max(DefaultRetryPolicy.MaxBackoff, p.InitialBackoff)
	}
	if p.Multiplier < 1 {
		p.Multiplier = DefaultRetryPolicy.Multiplier
	}
	return p
}

// backoff is a random wait before retry number retry (1-based).
func (p RetryPolicy) backoff(retry int) time.Duration {
	ceiling := float64(p.InitialBackoff)
	for range retry - 1 {
		if ceiling >= float64(p.MaxBackoff) {
			break
		}
		ceiling *= p.Multiplier
	}
	ceiling = min(ceiling, float64(p.MaxBackoff))
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// call runs rpc within the service's time budget, retrying UNAVAILABLE
// until the budget is spent; every attempt shares one deadline. Retrying is
// safe for every RPC of the contract: reads change nothing, a delete of a
// missing session succeeds, appends are idempotent by event id, Create
// picks the session id itself, and setting an expiry, closing a session and
// erasing a user give the same result however often they are made.
func (s *Service) call(ctx context.Context, rpc func(ctx context.Context) error) error {
	ctx, cancel := s.withBudget(ctx)
	defer cancel()
	return s.retrying(ctx, rpc, nil)
}

// withBudget returns ctx with the service's metadata and its time budget
// (WithTimeout) from now: the context of one operation.
func (s *Service) withBudget(ctx context.Context) (context.Context, context.CancelFunc) {
	if len(s.metadata) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, s.metadata...)
	}
	if s.timeout > 0 {
		return context.WithTimeout(ctx, s.timeout)
	}
	return ctx, func() {}
}

// retrying runs rpc until it succeeds, fails for a reason a retry cannot
// change, or ctx ends; after a retried failure the next attempt waits a
// backoff and is made grpc.WaitForReady. failed, if not nil, is a failure
// the operation already had on another way to the server (its place in a
// batch): it is judged first, as if rpc had failed so.
func (s *Service) retrying(ctx context.Context, rpc func(ctx context.Context) error, failed error) error {
	var last error // the last failure with a retried code
	for retry := 1; ; retry++ {
		err := failed
		if retry > 1 || failed == nil {
			attemptCtx := ctx
			if last != nil {
				attemptCtx = context.WithValue(ctx, waitForReadyKey{}, true)
			}
			err = rpc(attemptCtx)
		}
		switch {
		case err == nil:
			return nil
		case retried(ctx, err):
			last = err
		case status.Code(err) == codes.DeadlineExceeded && last != nil:
			return errorFromRPC(last) // still unavailable when the time ran out
		case status.Code(err) == codes.DeadlineExceeded:
			return s.outOfTime(err)
		default:
			return errorFromRPC(err)
		}
		timer := time.NewTimer(s.retry.backoff(retry))
		select {
		case <-ctx.Done():
			timer.Stop()
			return errorFromRPC(last)
		case <-timer.C:
		}
	}
}

// outOfTime is the error of an operation whose deadline passed (err) before
// any answer came: UNAVAILABLE if the connection is not up (the server is
// down or unreachable), else err (the server is there, too slow).
func (s *Service) outOfTime(err error) error {
	if status.Code(err) == codes.DeadlineExceeded && s.conn.GetState() != connectivity.Ready {
		return errorFromRPC(status.Errorf(codes.Unavailable,
			"the server could not be reached within the call's time budget: %s", status.Convert(err).Message()))
	}
	return errorFromRPC(err)
}

// retried says whether a failed attempt may be tried again: on UNAVAILABLE,
// and on CANCELLED while the caller's context is still live, for then the
// server cancelled the call (a server shutting down cancels the calls it
// received but had not started). Either may have taken effect or not, which
// an idempotent retry makes harmless.
func retried(ctx context.Context, err error) bool {
	switch status.Code(err) {
	case codes.Unavailable:
		return true
	case codes.Canceled:
		return ctx.Err() == nil
	}
	return false
}

// waitForReadyKey marks the context of an attempt that is a retry: the
// interceptors below make it wait for the connection (grpc.WaitForReady).
// A context value, not a parameter, so every RPC closure of the service
// stays a plain call.
type waitForReadyKey struct{}

func waitForReadyOnRetry(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if ctx.Value(waitForReadyKey{}) != nil {
		opts = append(opts, grpc.WaitForReady(true))
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func streamWaitForReadyOnRetry(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
	streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if ctx.Value(waitForReadyKey{}) != nil {
		opts = append(opts, grpc.WaitForReady(true))
	}
	return streamer(ctx, desc, cc, method, opts...)
}

// retryDialOptions are the connection options the retry rule relies on.
func retryDialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithConnectParams(reconnectParams),
		grpc.WithChainUnaryInterceptor(waitForReadyOnRetry),
		grpc.WithChainStreamInterceptor(streamWaitForReadyOnRetry),
	}
}
