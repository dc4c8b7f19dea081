package grpcsession

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/adk/v2/session"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
)

// DefaultTimeout is how long each method may take in all, retries included,
// unless WithTimeout says otherwise.
const DefaultTimeout = 30 * time.Second

// maxPageSize is the largest page the server returns; listing walks pages of it.
const maxPageSize = 1000

// Service is an adk-go session.Service backed by an adk-grpc-sessions
// server. It is safe for concurrent use. Build it with New; Close it when done.
type Service struct {
	conn     *grpc.ClientConn
	client   sessionsv1.SessionServiceClient
	timeout  time.Duration
	retry    RetryPolicy
	metadata []string
	appends  appendsUnderWay
	writes   writes
}

var _ session.Service = (*Service)(nil)

// Option configures a Service.
type Option func(*options)

type options struct {
	timeout     time.Duration
	retry       RetryPolicy
	credentials credentials.TransportCredentials
	dialOptions []grpc.DialOption
	metadata    []string
	inFlight    int
	stream      bool
}

// WithTimeout sets how long each method may take in all, retries included:
// while the server is unavailable (restarting, say) a call is retried until
// this is spent. 0 means no limit beyond the caller's context (a call then
// keeps trying until the context ends).
func WithTimeout(timeout time.Duration) Option {
	return func(o *options) { o.timeout = timeout }
}

// WithRetryPolicy sets how often calls failing with UNAVAILABLE are retried
// within their time budget.
func WithRetryPolicy(policy RetryPolicy) Option {
	return func(o *options) { o.retry = policy }
}

// WithTransportCredentials sets the connection's credentials (TLS). The
// default is plaintext, or TLS with the system's roots for "grpcs://".
func WithTransportCredentials(creds credentials.TransportCredentials) Option {
	return func(o *options) { o.credentials = creds }
}

// WithMetadata adds metadata sent with every call, e.g.
// WithMetadata("authorization", "Bearer "+token) for a server that requires tokens.
func WithMetadata(key, value string) Option {
	return func(o *options) { o.metadata = append(o.metadata, key, value) }
}

// WithDialOptions adds grpc-go dial options (interceptors, keepalive, ...);
// they win over the service's own, such as its reconnect backoff.
func WithDialOptions(dialOptions ...grpc.DialOption) Option {
	return func(o *options) { o.dialOptions = append(o.dialOptions, dialOptions...) }
}

// WithMaxAppendsInFlight sets how many calls of one kind of write (appends,
// creates) are open at once; writes made while calls of their kind are open
// go together in batch calls (BatchAppendEvents, BatchCreateSessions), each
// still answered as it would be alone. 0 sends every write in a call of its
// own. The default is DefaultMaxAppendsInFlight.
func WithMaxAppendsInFlight(calls int) Option {
	return func(o *options) { o.inFlight = max(calls, 0) }
}

// WithStreamAppends sets whether a lone append or create is sent as a
// message on an AppendEventStream kept open (the default) rather than in a
// call of its own. Turn it off behind a proxy that cuts long-lived streams.
func WithStreamAppends(stream bool) Option {
	return func(o *options) { o.stream = stream }
}

// New returns a Service for the server at address: "host:port", another
// gRPC target string ("unix:/path"), "grpc://host[:port]" (plaintext, port
// 50051 by default) or "grpcs://host[:port]" (TLS, port 443 by default). No
// connection is made until the first call.
func New(address string, opts ...Option) (*Service, error) {
	o := options{timeout: DefaultTimeout, retry: DefaultRetryPolicy, inFlight: DefaultMaxAppendsInFlight, stream: true}
	for _, opt := range opts {
		opt(&o)
	}
	o.retry = o.retry.withDefaults()
	t, err := parseTarget(address)
	if err != nil {
		return nil, err
	}
	creds := o.credentials
	if creds == nil {
		creds = insecure.NewCredentials()
		if t.tls {
			creds = credentials.NewClientTLSFromCert(nil, "")
		}
	}
	dialOptions := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<31-1), grpc.MaxCallSendMsgSize(1<<31-1)),
	}, retryDialOptions()...)
	dialOptions = append(dialOptions, o.dialOptions...)
	conn, err := grpc.NewClient(t.address, dialOptions...)
	if err != nil {
		return nil, fmt.Errorf("grpcsession: %w", err)
	}
	s := &Service{
		conn:     conn,
		client:   sessionsv1.NewSessionServiceClient(conn),
		timeout:  o.timeout,
		retry:    o.retry,
		metadata: o.metadata,
	}
	s.writes = newWrites(s, o.inFlight, o.stream)
	return s, nil
}

// Close closes the connection; writes still waiting for a call fail.
func (s *Service) Close() error {
	s.writes.close()
	return s.conn.Close()
}

// Create creates a session, with the id given or a new UUID, and its initial
// state (app: and user: keys go to the app's and the user's state). Fails
// with ErrSessionAlreadyExists if the id is taken. It expires as the
// server's default says; CreateWithExpiry chooses.
func (s *Service) Create(ctx context.Context, req *session.CreateRequest) (*session.CreateResponse, error) {
	return s.create(ctx, req, func(*sessionsv1.CreateSessionRequest) {})
}

// create is Create with the request's expiry set by expiration.
func (s *Service) create(ctx context.Context, req *session.CreateRequest,
	expiration func(*sessionsv1.CreateSessionRequest)) (*session.CreateResponse, error) {
	sessionID := strings.TrimSpace(req.SessionID)
	// Choosing the id here makes a retried create recognisable: the id is
	// fresh, so "already exists" can only mean an earlier attempt landed.
	chosenHere := sessionID == ""
	if chosenHere {
		sessionID = uuid.NewString()
	}
	delta, err := stateDelta(req.State)
	if err != nil {
		return nil, err
	}
	request := &sessionsv1.CreateSessionRequest{
		AppName:   req.AppName,
		UserId:    req.UserID,
		SessionId: sessionID,
		State:     delta,
	}
	expiration(request)
	response, err := s.writeCreate(ctx, request)
	if chosenHere && errors.Is(err, ErrSessionAlreadyExists) {
		got, getErr := s.Get(ctx, &session.GetRequest{AppName: req.AppName, UserID: req.UserID, SessionID: sessionID})
		if getErr != nil {
			return nil, err
		}
		return &session.CreateResponse{Session: got.Session}, nil
	}
	if err != nil {
		return nil, err
	}
	if response.session == nil { // created in a batch with no room left for it: read it
		got, err := s.Get(ctx, &session.GetRequest{AppName: req.AppName, UserID: req.UserID, SessionID: response.id})
		if err != nil {
			return nil, err
		}
		return &session.CreateResponse{Session: got.Session}, nil
	}
	created, err := sessionFromMessage(response.session)
	if err != nil {
		return nil, err
	}
	return &session.CreateResponse{Session: created}, nil
}

// readRestarts is how many times Get starts over when the session was
// deleted (or deleted and created again) between the parts of its read.
const readRestarts = 3

// Get reads a session with its merged state and events: the last
// NumRecentEvents of them if that is set, and of those the ones at or after
// After if that is set. Fails with ErrSessionNotFound if it does not exist.
//
// The whole session, however large: a session whose events do not fit in
// one response of the server arrives in parts (GetSession, then ListEvents
// pages of the same read's selection), assembled here. The session, its
// revision and its events are those of one moment: events appended meanwhile
// are not included, and appending through the session then detects them
// (ErrStaleSession).
func (s *Service) Get(ctx context.Context, req *session.GetRequest) (*session.GetResponse, error) {
	request := &sessionsv1.GetSessionRequest{
		AppName:   req.AppName,
		UserId:    req.UserID,
		SessionId: strings.TrimSpace(req.SessionID),
	}
	if req.NumRecentEvents > 0 {
		n := int32(min(req.NumRecentEvents, 1<<31-1))
		request.NumRecentEvents = &n
	}
	if !req.After.IsZero() {
		request.AfterTimestamp = timestamppb.New(req.After)
	}
	for restart := 0; ; restart++ {
		var response *sessionsv1.GetSessionResponse
		err := s.call(ctx, func(ctx context.Context) (err error) {
			response, err = s.client.GetSession(ctx, request)
			return err
		})
		if err != nil {
			return nil, err
		}
		message := response.GetSession()
		err = s.readRest(ctx, message, response.GetNextEventsPageToken())
		if errors.Is(err, ErrSessionNotFound) && restart < readRestarts {
			continue // gone between the parts: read it anew
		}
		if err != nil {
			return nil, err
		}
		got, err := sessionFromMessage(message)
		if err != nil {
			return nil, err
		}
		return &session.GetResponse{Session: got}, nil
	}
}

// readRest appends to message the rest of a read's events, listed from its
// next_events_page_token on; ErrSessionNotFound if the session read is gone.
func (s *Service) readRest(ctx context.Context, message *sessionsv1.Session, token string) error {
	for token != "" {
		request := &sessionsv1.ListEventsRequest{
			AppName:   message.GetAppName(),
			UserId:    message.GetUserId(),
			SessionId: message.GetSessionId(),
			PageSize:  maxPageSize,
			PageToken: token,
		}
		var page *sessionsv1.ListEventsResponse
		err := s.call(ctx, func(ctx context.Context) (err error) {
			page, err = s.client.ListEvents(ctx, request)
			return err
		})
		if err != nil {
			return err
		}
		message.Events = append(message.Events, page.GetEvents()...)
		token = page.GetNextPageToken()
	}
	return nil
}

// List lists the sessions of an app, or of one user of it if UserID is set,
// without their events, oldest update first.
func (s *Service) List(ctx context.Context, req *session.ListRequest) (*session.ListResponse, error) {
	return s.list(ctx, &sessionsv1.ListSessionsRequest{AppName: req.AppName, UserId: req.UserID, PageSize: maxPageSize})
}

// ListWithOptions is List with the filter and order of opts (see
// ListOptions; a zero PageSize walks the server's largest pages): every
// session it selects from opts.PageToken on, with merged state, without
// events. A filter the server cannot read fails with ErrInvalidFilter.
func (s *Service) ListWithOptions(ctx context.Context, opts ListOptions) (*session.ListResponse, error) {
	request := listRequest(opts)
	if request.PageSize == 0 {
		request.PageSize = maxPageSize
	}
	return s.list(ctx, request)
}

// list walks the pages of request from its page token on.
func (s *Service) list(ctx context.Context, request *sessionsv1.ListSessionsRequest) (*session.ListResponse, error) {
	sessions := []session.Session{}
	for {
		var response *sessionsv1.ListSessionsResponse
		err := s.call(ctx, func(ctx context.Context) (err error) {
			response, err = s.client.ListSessions(ctx, request)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, message := range response.GetSessions() {
			listed, err := sessionFromMessage(message)
			if err != nil {
				return nil, err
			}
			sessions = append(sessions, listed)
		}
		if response.GetNextPageToken() == "" {
			return &session.ListResponse{Sessions: sessions}, nil
		}
		request.PageToken = response.GetNextPageToken()
	}
}

// Delete deletes a session and its events; deleting a missing one is not an error.
func (s *Service) Delete(ctx context.Context, req *session.DeleteRequest) error {
	request := &sessionsv1.DeleteSessionRequest{
		AppName:   req.AppName,
		UserId:    req.UserID,
		SessionId: strings.TrimSpace(req.SessionID),
	}
	return s.call(ctx, func(ctx context.Context) error {
		_, err := s.client.DeleteSession(ctx, request)
		return err
	})
}

// AppendEvent stores an event and applies its state delta, if sess is up to
// date; then records both in sess. A partial event is neither stored nor
// applied. An event without an ID gets a new UUID and one without a
// Timestamp gets the current time; the Timestamp is then moved to the
// nearest instant a float64 of seconds holds (see the package
// documentation), on the event itself, so that it equals the stored one.
//
// Fails with ErrStaleSession if the session changed in storage since sess
// was read, with ErrSessionNotFound if it does not exist (or has expired),
// and with ErrSessionClosed if it was closed.
func (s *Service) AppendEvent(ctx context.Context, sess session.Session, event *session.Event) error {
	if sess == nil {
		return fmt.Errorf("grpcsession: session is nil")
	}
	defer s.appends.start(sessionKey{sess.AppName(), sess.UserID(), sess.ID()})()
	if event == nil {
		return fmt.Errorf("grpcsession: event is nil")
	}
	if event.Partial {
		return nil
	}
	if event.ID == "" {
		event.ID = uuid.NewString()
	}
	if event.Timestamp.IsZero() {
		event.Timestamp = time.Now()
	}
	stored, err := representable(event.Timestamp)
	if err != nil {
		return err
	}
	event.Timestamp = stored.In(event.Timestamp.Location())
	eventText, err := eventJSON(event)
	if err != nil {
		return err
	}
	revision, err := s.revisionOf(ctx, sess)
	if err != nil {
		return err
	}
	request := &sessionsv1.AppendEventRequest{
		AppName:          sess.AppName(),
		UserId:           sess.UserID(),
		SessionId:        sess.ID(),
		EventJson:        eventText,
		ExpectedRevision: revision,
	}
	response, err := s.writeAppend(ctx, request)
	if err != nil {
		return err
	}
	if own, ok := sess.(*storedSession); ok {
		own.commit(event, response.GetRevision(), response.GetLastUpdateTime().AsTime())
	}
	return nil
}

// writeAppend sends one append as its operation (see write_pipeline.go).
func (s *Service) writeAppend(ctx context.Context, request *sessionsv1.AppendEventRequest) (
	*sessionsv1.AppendEventResponse, error) {
	if ownMetadata(ctx) {
		var response *sessionsv1.AppendEventResponse
		err := s.call(ctx, func(ctx context.Context) (err error) {
			response, err = s.client.AppendEvent(ctx, request)
			return err
		})
		return response, err
	}
	ctx, cancel := s.withBudget(ctx)
	defer cancel()
	return s.writes.appends.send(ctx, request)
}

// writeCreate sends one create as its operation (see write_pipeline.go).
func (s *Service) writeCreate(ctx context.Context, request *sessionsv1.CreateSessionRequest) (createdSession, error) {
	if ownMetadata(ctx) {
		var response *sessionsv1.CreateSessionResponse
		err := s.call(ctx, func(ctx context.Context) (err error) {
			response, err = s.client.CreateSession(ctx, request)
			return err
		})
		return createdSession{session: response.GetSession()}, err
	}
	ctx, cancel := s.withBudget(ctx)
	defer cancel()
	return s.writes.creates.send(ctx, request)
}

// revisionOf returns the revision sess was read at. A session that this
// service did not return (built by hand, or by another service) has none; it
// is then judged as ADK's database services judge one: up to date if storage
// has not changed since its LastUpdateTime, or if storage's latest event is
// its latest event.
func (s *Service) revisionOf(ctx context.Context, sess session.Session) (int64, error) {
	if own, ok := sess.(*storedSession); ok {
		return own.currentRevision(), nil
	}
	one := int32(1)
	request := &sessionsv1.GetSessionRequest{
		AppName:         sess.AppName(),
		UserId:          sess.UserID(),
		SessionId:       sess.ID(),
		NumRecentEvents: &one,
	}
	var response *sessionsv1.GetSessionResponse
	err := s.call(ctx, func(ctx context.Context) (err error) {
		response, err = s.client.GetSession(ctx, request)
		return err
	})
	if err != nil {
		return 0, err
	}
	stored := response.GetSession()
	// Its last event may not have fitted beside its state: then it is the one part left.
	if err := s.readRest(ctx, stored, response.GetNextEventsPageToken()); err != nil {
		return 0, err
	}
	if stored.GetLastUpdateTime().AsTime().After(sess.LastUpdateTime()) && lastEventID(stored) != lastOwnEventID(sess) {
		return 0, staleSessionError()
	}
	return stored.GetRevision(), nil
}

func lastEventID(stored *sessionsv1.Session) string {
	if events := stored.GetEvents(); len(events) > 0 {
		return events[len(events)-1].GetId()
	}
	return ""
}

func lastOwnEventID(sess session.Session) string {
	if events := sess.Events(); events != nil && events.Len() > 0 {
		return events.At(events.Len() - 1).ID
	}
	return ""
}

// GetUserState reads the state of one user of an app, keys without "user:".
func (s *Service) GetUserState(ctx context.Context, appName, userID string) (map[string]any, error) {
	request := &sessionsv1.GetUserStateRequest{AppName: appName, UserId: userID}
	var response *sessionsv1.GetUserStateResponse
	err := s.call(ctx, func(ctx context.Context) (err error) {
		response, err = s.client.GetUserState(ctx, request)
		return err
	})
	if err != nil {
		return nil, err
	}
	return decodeFlat(response.GetState())
}

// GetAppState reads the state of an app, keys without "app:".
func (s *Service) GetAppState(ctx context.Context, appName string) (map[string]any, error) {
	request := &sessionsv1.GetAppStateRequest{AppName: appName}
	var response *sessionsv1.GetAppStateResponse
	err := s.call(ctx, func(ctx context.Context) (err error) {
		response, err = s.client.GetAppState(ctx, request)
		return err
	})
	if err != nil {
		return nil, err
	}
	return decodeFlat(response.GetState())
}
