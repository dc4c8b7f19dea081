package grpcsession

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/adk/v2/model"
	"google.golang.org/adk/v2/session"
	"google.golang.org/genai"
)

// pythonEvent is what ADK Python 2.13 writes for an event
// (Event.model_dump_json(by_alias=True, exclude_none=True)).
const pythonEvent = `{"content":{"parts":[{"text":"Zürich, 東京 ✓","thoughtSignature":"-__-AQ=="},` +
	`{"inlineData":{"data":"-_-_Pj8=","mimeType":"image/png"}},{"functionCall":{"id":"call-1",` +
	`"args":{"city":"Zürich","n":9223372036854775809},"name":"record_visit"}}],"role":"model"},` +
	`"turnComplete":true,"finishReason":"STOP","usageMetadata":{"candidatesTokenCount":4,` +
	`"promptTokenCount":3,"totalTokenCount":7},"invocationId":"inv-1","author":"travel_agent",` +
	`"actions":{"stateDelta":{"app:visits":9223372036854775809,"user:name":"Ada","count":1,"ratio":0.5},` +
	`"artifactDelta":{},"requestedAuthConfigs":{},"requestedToolConfirmations":{},"route":["left","right"]},` +
	`"nodeInfo":{"path":""},"longRunningToolIds":["call-1"],"branch":"root.travel_agent","id":"e-1",` +
	`"timestamp":1763711206.7836134}`

func TestEventFromPythonJSON(t *testing.T) {
	event, err := eventFromJSON(pythonEvent)
	if err != nil {
		t.Fatalf("eventFromJSON() error = %v", err)
	}
	want := &session.Event{
		LLMResponse: model.LLMResponse{
			Content: &genai.Content{Role: "model", Parts: []*genai.Part{
				{Text: "Zürich, 東京 ✓", ThoughtSignature: []byte{251, 255, 254, 1}},
				{InlineData: &genai.Blob{Data: []byte{251, 255, 191, 62, 63}, MIMEType: "image/png"}},
				{FunctionCall: &genai.FunctionCall{ID: "call-1", Name: "record_visit",
					Args: map[string]any{"city": "Zürich", "n": float64(9223372036854775809)}}},
			}},
			TurnComplete: true,
			FinishReason: genai.FinishReasonStop,
			UsageMetadata: &genai.GenerateContentResponseUsageMetadata{
				PromptTokenCount: 3, CandidatesTokenCount: 4, TotalTokenCount: 7,
			},
		},
		ID:           "e-1",
		Timestamp:    time.Unix(1763711206, 783613400).UTC(),
		InvocationID: "inv-1",
		Branch:       "root.travel_agent",
		Author:       "travel_agent",
		Actions: session.EventActions{
			StateDelta: map[string]any{
				"app:visits": json.Number("9223372036854775809"),
				"user:name":  "Ada",
				"count":      float64(1),
				"ratio":      0.5,
			},
			ArtifactDelta:              map[string]int64{},
			RequestedToolConfirmations: nil,
		},
		LongRunningToolIDs: []string{"call-1"},
		Routes:             []string{"left", "right"},
	}
	if diff := cmp.Diff(want, event, cmp.AllowUnexported(session.Event{}), ignoreEmptyConfirmations); diff != "" {
		t.Errorf("eventFromJSON() mismatch (-want +got):\n%s", diff)
	}
}

var ignoreEmptyConfirmations = cmp.FilterPath(func(p cmp.Path) bool {
	return strings.HasSuffix(p.String(), "RequestedToolConfirmations")
}, cmp.Comparer(func(a, b any) bool { return true }))

func TestEventJSONIsPythonsFormat(t *testing.T) {
	event := &session.Event{
		ID:           "e-2",
		Timestamp:    time.Unix(1700000000, 123000000),
		InvocationID: "inv-2",
		Author:       "go_agent",
		Routes:       []string{"next"},
		Actions: session.EventActions{
			StateDelta: map[string]any{"temp:scratch": 1, "user:big": json.Number("9223372036854775809"), "html": "<b>&</b>"},
		},
		LLMResponse: model.LLMResponse{Content: genai.NewContentFromBytes([]byte{251, 255, 191}, "image/png", "model")},
	}
	text, err := eventJSON(event)
	if err != nil {
		t.Fatalf("eventJSON() error = %v", err)
	}
	for _, want := range []string{
		`"timestamp":1700000000.123`,
		`"stateDelta":{"html":"<b>&</b>","user:big":9223372036854775809}`,
		`"route":["next"]`,
		`"data":"+/+/"`,
		`"author":"go_agent"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("eventJSON() = %s\nwant it to contain %s", text, want)
		}
	}
}

func TestEventsSurviveTheTripThroughPythonJSON(t *testing.T) {
	event := &session.Event{
		ID:                 "e-3",
		Timestamp:          time.Date(2025, 1, 1, 0, 0, 1, 250000000, time.UTC),
		InvocationID:       "inv-3",
		Branch:             "root.child",
		IsolationScope:     "scope",
		Author:             "go_agent",
		LongRunningToolIDs: []string{"t1"},
		Routes:             []string{"a", "b"},
		Output:             map[string]any{"summary": "ok"},
		NodeInfo:           &session.NodeInfo{Path: "wf/a", MessageAsOutput: true},
		Actions: session.EventActions{
			StateDelta:        map[string]any{"k": "v", "n": float64(3)},
			ArtifactDelta:     map[string]int64{"report.pdf": 2},
			SkipSummarization: true,
			TransferToAgent:   "other",
			Escalate:          true,
		},
		LLMResponse: model.LLMResponse{
			Content:        genai.NewContentFromText("hello", "model"),
			TurnComplete:   true,
			CustomMetadata: map[string]any{"x": "y"},
		},
	}
	text, err := eventJSON(event)
	if err != nil {
		t.Fatalf("eventJSON() error = %v", err)
	}
	back, err := eventFromJSON(text)
	if err != nil {
		t.Fatalf("eventFromJSON() error = %v", err)
	}
	if diff := cmp.Diff(event, back, cmp.AllowUnexported(session.Event{})); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}

func TestRoutesFromPythonScalars(t *testing.T) {
	for route, want := range map[string][]string{`"x"`: {"x"}, `true`: {"true"}, `3`: {"3"}, `["a",1]`: {"a", "1"}} {
		event, err := eventFromJSON(`{"id":"e","timestamp":1.0,"actions":{"route":` + route + `}}`)
		if err != nil {
			t.Fatalf("eventFromJSON(route %s) error = %v", route, err)
		}
		if diff := cmp.Diff(want, event.Routes); diff != "" {
			t.Errorf("route %s: Routes mismatch (-want +got):\n%s", route, diff)
		}
	}
}
