package grpcsession

// How each kind of write travels, alone and in a batch: the routes of the
// write pipeline (write_pipeline.go). Appends: a lone append on the append
// stream (append_stream.go) when it is free, else in an AppendEvent call;
// appends together in BatchAppendEvents. Creates: a lone create on the same
// stream when it is free, else in a CreateSession call; creates together in
// BatchCreateSessions.

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
)

// writes is how a Service sends its appends and creates.
type writes struct {
	// root is the context the append stream and batch calls run in: the
	// service's metadata, no caller's; it ends when the service is closed.
	root    context.Context
	close   context.CancelFunc
	appends *writePipeline[*sessionsv1.AppendEventRequest, *sessionsv1.AppendEventResponse]
	creates *writePipeline[*sessionsv1.CreateSessionRequest, createdSession]
}

// newWrites returns the write paths of s: maxInFlight batch calls of each
// kind at once (0: a call per write), lone writes on the append stream if
// stream is set.
func newWrites(s *Service, maxInFlight int, stream bool) writes {
	root := context.Background()
	if len(s.metadata) > 0 {
		root = metadata.AppendToOutgoingContext(root, s.metadata...)
	}
	root, closeWrites := context.WithCancel(root)
	var appendStreamOrNil *appendStream
	if stream {
		appendStreamOrNil = &appendStream{client: s.client, root: root}
	}
	return writes{
		root:    root,
		close:   closeWrites,
		appends: newWritePipeline(s, appendRoute{s.client, appendStreamOrNil}, maxInFlight, root.Done()),
		creates: newWritePipeline(s, createRoute{s.client, appendStreamOrNil}, maxInFlight, root.Done()),
	}
}

// ownMetadata says whether ctx carries outgoing metadata of its caller's:
// such a write goes in a call of its own, the only way that carries it.
func ownMetadata(ctx context.Context) bool {
	md, ok := metadata.FromOutgoingContext(ctx)
	return ok && md.Len() > 0
}

// appendRoute: appends alone on the append stream (or a call), together in BatchAppendEvents.
type appendRoute struct {
	client sessionsv1.SessionServiceClient
	stream *appendStream // nil: always a call
}

func (r appendRoute) alone(ctx context.Context, request *sessionsv1.AppendEventRequest) (*sessionsv1.AppendEventResponse, error) {
	if r.stream != nil {
		message := &sessionsv1.AppendEventStreamRequest{Request: &sessionsv1.AppendEventStreamRequest_Append{Append: request}}
		answer, used, err := r.stream.exchange(ctx, message)
		if used {
			if err != nil {
				return nil, err
			}
			return appended(answer.GetResult())
		}
	}
	return r.client.AppendEvent(ctx, request)
}

func (r appendRoute) together(ctx context.Context, requests []*sessionsv1.AppendEventRequest) (
	[]outcome[*sessionsv1.AppendEventResponse], error) {
	response, err := r.client.BatchAppendEvents(ctx, &sessionsv1.BatchAppendEventsRequest{Requests: requests})
	if err != nil {
		return nil, err
	}
	return outcomes(response.GetResults(), len(requests), appended)
}

func appended(result *sessionsv1.AppendEventResult) (*sessionsv1.AppendEventResponse, error) {
	if response := result.GetResponse(); response != nil {
		return response, nil
	}
	if failure := result.GetError(); failure != nil {
		return nil, resultError(failure)
	}
	return nil, status.Error(codes.Internal, "the server answered an append without its outcome")
}

// createdSession is what a create came to: the new session, or only its id
// (a batch's response had no room for it: read it).
type createdSession struct {
	session *sessionsv1.Session
	id      string
}

// createRoute: creates alone on the append stream (or a call), together in BatchCreateSessions.
type createRoute struct {
	client sessionsv1.SessionServiceClient
	stream *appendStream // nil: always a call
}

func (r createRoute) alone(ctx context.Context, request *sessionsv1.CreateSessionRequest) (createdSession, error) {
	if r.stream != nil {
		message := &sessionsv1.AppendEventStreamRequest{Request: &sessionsv1.AppendEventStreamRequest_Create{Create: request}}
		answer, used, err := r.stream.exchange(ctx, message)
		if used {
			if err != nil {
				return createdSession{}, err
			}
			return created(answer.GetCreateResult())
		}
	}
	response, err := r.client.CreateSession(ctx, request)
	if err != nil {
		return createdSession{}, err
	}
	return createdSession{session: response.GetSession()}, nil
}

func (r createRoute) together(ctx context.Context, requests []*sessionsv1.CreateSessionRequest) (
	[]outcome[createdSession], error) {
	response, err := r.client.BatchCreateSessions(ctx, &sessionsv1.BatchCreateSessionsRequest{Requests: requests})
	if err != nil {
		return nil, err
	}
	return outcomes(response.GetResults(), len(requests), created)
}

func created(result *sessionsv1.CreateSessionResult) (createdSession, error) {
	if response := result.GetResponse(); response != nil {
		return createdSession{session: response.GetSession()}, nil
	}
	if only := result.GetCreated(); only != nil {
		return createdSession{id: only.GetSessionId()}, nil
	}
	if failure := result.GetError(); failure != nil {
		return createdSession{}, resultError(failure)
	}
	return createdSession{}, status.Error(codes.Internal, "the server answered a create without its outcome")
}

// outcomes reads a batch's results, one per write, in order; a response
// short of count fails the batch (no retry mends it).
func outcomes[ResultMessage any, Result any](results []ResultMessage, count int,
	read func(ResultMessage) (Result, error)) ([]outcome[Result], error) {
	if len(results) != count {
		return nil, status.Errorf(codes.Internal, "the server answered a batch of %d writes with %d results", count, len(results))
	}
	all := make([]outcome[Result], count)
	for i, result := range results {
		all[i].result, all[i].err = read(result)
	}
	return all, nil
}
