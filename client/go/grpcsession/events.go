package grpcsession

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/adk/v2/session"
)

// eventJSON returns an event as ADK Python's camelCase JSON: adk-go's own
// JSON with the timestamp as float seconds, "temp:" keys left out of the
// state delta, and Routes also written as Python's actions.route.
func eventJSON(event *session.Event) (string, error) {
	seconds, err := secondsFromTime(event.Timestamp)
	if err != nil {
		return "", err
	}
	encoded, err := json.Marshal(event)
	if err != nil {
		return "", fmt.Errorf("grpcsession: event %q has no JSON form: %w", event.ID, err)
	}
	fields, err := decodeObject(encoded)
	if err != nil {
		return "", err
	}
	fields["timestamp"] = json.Number(secondsJSON(seconds))
	if actions, ok := fields["actions"].(map[string]any); ok {
		if delta, ok := actions["stateDelta"].(map[string]any); ok {
			for key := range delta {
				if strings.HasPrefix(key, session.KeyPrefixTemp) {
					delete(delta, key)
				}
			}
		}
	}
	if len(event.Routes) > 0 {
		actions, ok := fields["actions"].(map[string]any)
		if !ok {
			actions = map[string]any{}
			fields["actions"] = actions
		}
		actions["route"] = event.Routes
	}
	return encodeValue(fields)
}

// eventFromJSON reads an event from ADK Python's JSON (or from what
// eventJSON wrote, which is the same format).
func eventFromJSON(text string) (*session.Event, error) {
	fields, err := decodeObject([]byte(text))
	if err != nil {
		return nil, err
	}
	if number, ok := fields["timestamp"].(json.Number); ok {
		seconds, err := number.Float64()
		if err != nil {
			return nil, fmt.Errorf("grpcsession: event timestamp %s: %w", number, err)
		}
		instant, err := timeFromSeconds(seconds)
		if err != nil {
			return nil, err
		}
		fields["timestamp"] = instant.Format(time.RFC3339Nano)
	}
	standardBase64(fields, "")
	actions, _ := fields["actions"].(map[string]any)
	if _, ok := fields["routes"]; !ok && actions != nil {
		if routes := routesFromPython(actions["route"]); routes != nil {
			fields["routes"] = routes
		}
	}
	normalized, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	event := &session.Event{}
	if err := json.Unmarshal(normalized, event); err != nil {
		return nil, fmt.Errorf("grpcsession: event %v is not an ADK event: %w", fields["id"], err)
	}
	if delta, ok := actions["stateDelta"].(map[string]any); ok && event.Actions.StateDelta != nil {
		// encoding/json made every number a float64; state keeps big integers exact.
		event.Actions.StateDelta = exactNumbers(delta).(map[string]any)
	}
	return event, nil
}

// decodeObject decodes a JSON object keeping every number's exact text.
func decodeObject(text []byte) (map[string]any, error) {
	decoder := json.NewDecoder(bytes.NewReader(text))
	decoder.UseNumber()
	var fields map[string]any
	if err := decoder.Decode(&fields); err != nil {
		return nil, fmt.Errorf("grpcsession: event JSON: %w", err)
	}
	if fields == nil {
		return nil, fmt.Errorf("grpcsession: event JSON is not an object")
	}
	return fields, nil
}

// routesFromPython reads ADK Python's actions.route (a value or a list of
// values, each a string, a boolean or an integer) as adk-go's Routes.
func routesFromPython(route any) []string {
	switch v := route.(type) {
	case nil:
		return nil
	case []any:
		routes := make([]string, 0, len(v))
		for _, item := range v {
			routes = append(routes, routeText(item))
		}
		return routes
	default:
		return []string{routeText(v)}
	}
}

func routeText(value any) string {
	if text, ok := value.(string); ok {
		return text
	}
	return fmt.Sprint(value) // true, 3: their JSON text
}

var urlSafeToStandard = strings.NewReplacer("-", "+", "_", "/")

// standardBase64 rewrites base64 fields from the URL-safe alphabet, which
// ADK Python (pydantic) writes, to the standard one, which encoding/json reads.
func standardBase64(value any, key string) {
	switch v := value.(type) {
	case map[string]any:
		for name, item := range v {
			if text, ok := item.(string); ok && isBytesField(key, name) {
				v[name] = padBase64(urlSafeToStandard.Replace(text))
				continue
			}
			standardBase64(item, name)
		}
	case []any:
		for _, item := range v {
			standardBase64(item, key)
		}
	}
}

// isBytesField reports whether parent.name holds bytes in genai's types: a
// Blob's data (Part.inlineData, FunctionResponsePart.inlineData) or a part's
// thought signature.
func isBytesField(parent, name string) bool {
	return name == "thoughtSignature" || (parent == "inlineData" && name == "data")
}

func padBase64(text string) string {
	if rest := len(text) % 4; rest != 0 {
		return text + strings.Repeat("=", 4-rest)
	}
	return text
}
