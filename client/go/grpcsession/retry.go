package grpcsession

import (
	"context"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// RetryPolicy says how calls that fail with UNAVAILABLE (or CANCELLED by the
// server, see retried) are retried: exponential backoff with full jitter,
// within the call's time budget.
type RetryPolicy struct {
	// MaxAttempts counts every attempt, the first included; 1 disables retries.
	MaxAttempts int
	// InitialBackoff bounds the wait before the first retry (the actual wait is random below it).
	InitialBackoff time.Duration
	// MaxBackoff bounds any one wait.
	MaxBackoff time.Duration
	// Multiplier grows the bound after every retry.
	Multiplier float64
}

// DefaultRetryPolicy is the policy of a Service built without WithRetryPolicy.
var DefaultRetryPolicy = RetryPolicy{
	MaxAttempts:    5,
	InitialBackoff: 50 * time.Millisecond,
	MaxBackoff:     2 * time.Second,
	Multiplier:     2,
}

// backoff is a random wait before retry number retry (1-based).
func (p RetryPolicy) backoff(retry int) time.Duration {
	ceiling := float64(p.InitialBackoff)
	for range retry - 1 {
		ceiling *= p.Multiplier
	}
	ceiling = min(ceiling, float64(p.MaxBackoff))
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// call runs rpc within the service's time budget, retrying UNAVAILABLE;
// every attempt shares one deadline. Retrying is safe for every RPC of the
// contract: reads change nothing, a delete of a missing session succeeds,
// appends are idempotent by event id, and Create picks the session id itself.
func (s *Service) call(ctx context.Context, rpc func(ctx context.Context) error) error {
	if len(s.metadata) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, s.metadata...)
	}
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	for attempt := 1; ; attempt++ {
		err := rpc(ctx)
		if err == nil {
			return nil
		}
		if !retried(ctx, err) || attempt >= s.retry.MaxAttempts {
			return errorFromRPC(err)
		}
		wait := s.retry.backoff(attempt)
		if deadline, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(deadline) {
			return errorFromRPC(err)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return errorFromRPC(err)
		case <-timer.C:
		}
	}
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
