package grpcsession

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/adk/v2/session"

	sessionsv1 "github.com/adk-grpc-sessions/adk-grpc-sessions/client/go/gen/adk_grpc_sessions/v1"
)

// maxExactInteger is the largest integer below which every integer is a float64.
const maxExactInteger = 1 << 53

// encodeValue returns a state value as JSON text, as encoding/json writes it
// (without HTML escaping, so "<" stays "<").
func encodeValue(value any) (string, error) {
	var buf bytes.Buffer
	encoder := json.NewEncoder(&buf)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(value); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// decodeValue reads a state value from its JSON text (see the package
// documentation for which Go types come back).
func decodeValue(text string) (any, error) {
	decoder := json.NewDecoder(strings.NewReader(text))
	decoder.UseNumber()
	var value any
	if err := decoder.Decode(&value); err != nil {
		return nil, err
	}
	if decoder.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return exactNumbers(value), nil
}

// exactNumbers replaces every json.Number in a decoded value by a float64,
// except integers beyond ±2^53, which stay json.Number so no digit is lost.
func exactNumbers(value any) any {
	switch v := value.(type) {
	case json.Number:
		return numberValue(v)
	case map[string]any:
		for key, item := range v {
			v[key] = exactNumbers(item)
		}
		return v
	case []any:
		for i, item := range v {
			v[i] = exactNumbers(item)
		}
		return v
	default:
		return value
	}
}

func numberValue(number json.Number) any {
	text := number.String()
	if !strings.ContainsAny(text, ".eE") {
		if n, err := number.Int64(); err != nil || n > maxExactInteger || n < -maxExactInteger {
			return number
		}
	}
	f, err := number.Float64()
	if err != nil {
		return number
	}
	return f
}

// decodeScope reads one scope of state from the wire, adding prefix to every key.
func decodeScope(into map[string]any, prefix string, values map[string]string) error {
	for key, text := range values {
		value, err := decodeValue(text)
		if err != nil {
			return fmt.Errorf("grpcsession: state %q from the server is not JSON: %w", prefix+key, err)
		}
		into[prefix+key] = value
	}
	return nil
}

// mergedState is ADK's merged view of a session's state: session keys, then
// "app:" keys, then "user:" keys.
func mergedState(state *sessionsv1.State) (map[string]any, error) {
	merged := make(map[string]any)
	if err := decodeScope(merged, "", state.GetSession()); err != nil {
		return nil, err
	}
	if err := decodeScope(merged, session.KeyPrefixApp, state.GetApp()); err != nil {
		return nil, err
	}
	if err := decodeScope(merged, session.KeyPrefixUser, state.GetUser()); err != nil {
		return nil, err
	}
	return merged, nil
}

// decodeFlat reads a map of JSON texts whose keys are taken as they are.
func decodeFlat(values map[string]string) (map[string]any, error) {
	decoded := make(map[string]any, len(values))
	if err := decodeScope(decoded, "", values); err != nil {
		return nil, err
	}
	return decoded, nil
}

// stateDelta splits ADK state (prefixed keys) by scope for the wire; "temp:"
// keys are left out.
func stateDelta(state map[string]any) (*sessionsv1.StateDelta, error) {
	delta := &sessionsv1.StateDelta{
		App:     map[string]string{},
		User:    map[string]string{},
		Session: map[string]string{},
	}
	for key, value := range state {
		if strings.HasPrefix(key, session.KeyPrefixTemp) {
			continue
		}
		text, err := encodeValue(value)
		if err != nil {
			return nil, fmt.Errorf("grpcsession: state %q has no JSON form: %w", key, err)
		}
		switch {
		case strings.HasPrefix(key, session.KeyPrefixApp):
			delta.App[strings.TrimPrefix(key, session.KeyPrefixApp)] = text
		case strings.HasPrefix(key, session.KeyPrefixUser):
			delta.User[strings.TrimPrefix(key, session.KeyPrefixUser)] = text
		default:
			delta.Session[key] = text
		}
	}
	return delta, nil
}
