package grpcsession

import (
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/adk/v2/session"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
)

// storedSession is a session as read from (or written through) the server:
// a snapshot plus the revision it was read at.
type storedSession struct {
	appName, userID, id string

	mu         sync.RWMutex
	state      map[string]any
	events     []*session.Event
	lastUpdate time.Time
	revision   int64
}

var _ session.Session = (*storedSession)(nil)

func sessionFromMessage(message *sessionsv1.Session) (*storedSession, error) {
	state, err := mergedState(message.GetState())
	if err != nil {
		return nil, err
	}
	events := make([]*session.Event, 0, len(message.GetEvents()))
	for _, stored := range message.GetEvents() {
		event, err := eventFromJSON(stored.GetEventJson())
		if err != nil {
			return nil, err
		}
		events = append(events, event)
	}
	return &storedSession{
		appName:    message.GetAppName(),
		userID:     message.GetUserId(),
		id:         message.GetSessionId(),
		state:      state,
		events:     events,
		lastUpdate: message.GetLastUpdateTime().AsTime(),
		revision:   message.GetRevision(),
	}, nil
}

// ID returns the session id.
func (s *storedSession) ID() string { return s.id }

// AppName returns the app the session belongs to.
func (s *storedSession) AppName() string { return s.appName }

// UserID returns the user the session belongs to.
func (s *storedSession) UserID() string { return s.userID }

// State returns the session's merged state ("app:" and "user:" keys included).
func (s *storedSession) State() session.State { return sessionState{s} }

// Events returns the session's events, oldest first.
func (s *storedSession) Events() session.Events {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return eventList(slices.Clone(s.events))
}

// LastUpdateTime returns the timestamp of the latest event, or the creation time.
func (s *storedSession) LastUpdateTime() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.lastUpdate
}

func (s *storedSession) currentRevision() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.revision
}

// commit records an event the server has stored: its state delta (temporary
// keys included, as adk-go's in-memory service does) and the event itself,
// without temporary keys.
func (s *storedSession) commit(event *session.Event, revision int64, lastUpdate time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	maps.Copy(s.state, event.Actions.StateDelta)
	stored := withoutTempKeys(event)
	if i := slices.IndexFunc(s.events, func(e *session.Event) bool { return e.ID == event.ID }); i >= 0 {
		s.events[i] = stored
	} else {
		s.events = append(s.events, stored)
	}
	s.revision = revision
	s.lastUpdate = lastUpdate
}

// withoutTempKeys returns the event itself, or a copy without "temp:" keys in
// its state delta if it has any.
func withoutTempKeys(event *session.Event) *session.Event {
	hasTemp := false
	for key := range event.Actions.StateDelta {
		if strings.HasPrefix(key, session.KeyPrefixTemp) {
			hasTemp = true
			break
		}
	}
	if !hasTemp {
		return event
	}
	trimmed := *event
	trimmed.Actions.StateDelta = make(map[string]any, len(event.Actions.StateDelta))
	for key, value := range event.Actions.StateDelta {
		if !strings.HasPrefix(key, session.KeyPrefixTemp) {
			trimmed.Actions.StateDelta[key] = value
		}
	}
	return &trimmed
}

// sessionState is the session.State of a storedSession. Set changes the
// in-memory session only; state reaches the server through events.
type sessionState struct{ s *storedSession }

func (st sessionState) Get(key string) (any, error) {
	st.s.mu.RLock()
	defer st.s.mu.RUnlock()
	value, ok := st.s.state[key]
	if !ok {
		return nil, session.ErrStateKeyNotExist
	}
	return value, nil
}

func (st sessionState) Set(key string, value any) error {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	st.s.state[key] = value
	return nil
}

func (st sessionState) All() iter.Seq2[string, any] {
	st.s.mu.RLock()
	snapshot := maps.Clone(st.s.state)
	st.s.mu.RUnlock()
	return maps.All(snapshot)
}

// eventList is the session.Events of a storedSession.
type eventList []*session.Event

func (e eventList) All() iter.Seq[*session.Event] { return slices.Values(e) }

func (e eventList) Len() int { return len(e) }

func (e eventList) At(i int) *session.Event {
	if i < 0 || i >= len(e) {
		return nil
	}
	return e[i]
}
