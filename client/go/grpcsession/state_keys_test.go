package grpcsession_test

import (
	"encoding/json"
	"maps"
	"testing"
)

// Keys JavaScript objects inherit, which a JavaScript client once dropped;
// in Go they are keys like any other, and must stay so in every scope.
var prototypeMemberKeys = []string{"__proto__", "constructor", "hasOwnProperty", "toString", "valueOf", "prototype"}

func TestStateKeysNamedLikePrototypeMembersSurviveEveryScope(t *testing.T) {
	s := newService(t)
	app := uniqueApp()
	initial, delta := map[string]any{}, map[string]any{}
	for n, key := range prototypeMemberKeys {
		for _, prefix := range []string{"", "app:", "user:"} {
			initial[prefix+key] = map[string]any{key: float64(n)}
			delta[prefix+key+"-later"] = map[string]any{key: float64(n + 10)}
		}
	}
	created := create(t, s, app, "u", initial)
	if got := stateOf(created); !equalJSON(got, initial) {
		t.Errorf("created state = %v, want %v", got, initial)
	}
	if got := stateOf(get(t, s, created)); !equalJSON(got, initial) {
		t.Errorf("stored state = %v, want %v", got, initial)
	}
	if err := s.AppendEvent(t.Context(), created, textEvent("agent", "ok", delta)); err != nil {
		t.Fatalf("AppendEvent() error = %v", err)
	}
	both := maps.Clone(initial)
	maps.Copy(both, delta)
	reread := get(t, s, created)
	if got := stateOf(reread); !equalJSON(got, both) {
		t.Errorf("state after the delta = %v, want %v", got, both)
	}
	if got := reread.Events().At(0).Actions.StateDelta; !equalJSON(got, delta) {
		t.Errorf("the stored event's delta = %v, want %v", got, delta)
	}
	userState, err := s.GetUserState(t.Context(), app, "u")
	if err != nil {
		t.Fatalf("GetUserState() error = %v", err)
	}
	appState, err := s.GetAppState(t.Context(), app)
	if err != nil {
		t.Fatalf("GetAppState() error = %v", err)
	}
	for _, key := range prototypeMemberKeys {
		if _, ok := userState[key]; !ok {
			t.Errorf("GetUserState() lacks %q: %v", key, userState)
		}
		if _, ok := appState[key+"-later"]; !ok {
			t.Errorf("GetAppState() lacks %q: %v", key+"-later", appState)
		}
	}
}

// equalJSON compares two values as JSON documents (numbers as float64 either way).
func equalJSON(got, want any) bool {
	a, errA := json.Marshal(got)
	b, errB := json.Marshal(want)
	return errA == nil && errB == nil && string(a) == string(b)
}
