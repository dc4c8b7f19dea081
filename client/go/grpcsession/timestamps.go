package grpcsession

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59.999999999Z.
const (
	minUnixSeconds = -62_135_596_800
	maxUnixSeconds = 253_402_300_799
	nanosPerSecond = 1_000_000_000
)

// secondsFromTime returns the float64 of seconds since the epoch nearest to t
// (what ADK Python keeps as Event.timestamp).
func secondsFromTime(t time.Time) (float64, error) {
	sec, nsec := t.Unix(), t.Nanosecond()
	if sec < minUnixSeconds || sec > maxUnixSeconds {
		return 0, fmt.Errorf("grpcsession: time %s is outside 0001-01-01..9999-12-31", t.Format(time.RFC3339Nano))
	}
	// ParseFloat rounds a decimal correctly, so this is the nearest float64.
	return strconv.ParseFloat(decimalSeconds(sec, nsec), 64)
}

// decimalSeconds writes (whole seconds, nanoseconds in [0, 1e9)) as an exact decimal.
func decimalSeconds(sec int64, nsec int) string {
	if sec >= 0 || nsec == 0 {
		return fmt.Sprintf("%d.%09d", sec, nsec)
	}
	// -1.5 s is (-2 s, 500000000 ns): write the same instant as a negative decimal.
	return fmt.Sprintf("-%d.%09d", -sec-1, nanosPerSecond-nsec)
}

// timeFromSeconds returns the instant that a float64 of seconds names: the
// exact value of its shortest decimal form, rounded half to even to the
// nanosecond if that form has more than nine fractional digits (only possible
// before 1970-04-08). This is how the server reads ADK Python's timestamps.
func timeFromSeconds(seconds float64) (time.Time, error) {
	if math.IsNaN(seconds) || math.IsInf(seconds, 0) {
		return time.Time{}, fmt.Errorf("grpcsession: %v is not a finite number of seconds", seconds)
	}
	text := strconv.FormatFloat(math.Abs(seconds), 'f', -1, 64)
	wholeText, fraction, _ := strings.Cut(text, ".")
	whole, err := strconv.ParseInt(wholeText, 10, 64)
	if err != nil || whole > maxUnixSeconds+1 {
		return time.Time{}, fmt.Errorf("grpcsession: %v seconds is outside 0001-01-01..9999-12-31", seconds)
	}
	nanos := roundedNanos(fraction)
	if nanos == nanosPerSecond {
		whole, nanos = whole+1, 0
	}
	sec, nsec := whole, nanos
	if seconds < 0 && nanos > 0 {
		sec, nsec = -whole-1, nanosPerSecond-nanos
	} else if seconds < 0 {
		sec = -whole
	}
	if sec < minUnixSeconds || sec > maxUnixSeconds {
		return time.Time{}, fmt.Errorf("grpcsession: %v seconds is outside 0001-01-01..9999-12-31", seconds)
	}
	return time.Unix(sec, int64(nsec)).UTC(), nil
}

// roundedNanos reads decimal fraction digits as nanoseconds, rounding half to
// even past the ninth digit; the result may be 1e9 (a carry).
func roundedNanos(fraction string) int64 {
	if len(fraction) <= 9 {
		n, _ := strconv.ParseInt(fraction+strings.Repeat("0", 9-len(fraction)), 10, 64)
		return n
	}
	n, _ := strconv.ParseInt(fraction[:9], 10, 64)
	rest := strings.TrimRight(fraction[9:], "0")
	switch {
	case rest == "" || rest[0] < '5':
	case rest == "5" && n%2 == 0: // exactly half: to even
	default:
		n++
	}
	return n
}

// secondsJSON writes float seconds as ADK Python's JSON does: the shortest
// decimal that reads back as the same float64, always with a fractional part
// so that Python reads a float.
func secondsJSON(seconds float64) string {
	text := strconv.FormatFloat(seconds, 'f', -1, 64)
	if !strings.Contains(text, ".") {
		text += ".0"
	}
	return text
}

// representable returns the instant that t becomes when written as ADK
// Python's float seconds and read back: the exact value of the shortest
// decimal of the float64 nearest to t. It lies within one float64 step of t
// (0.24 µs for dates up to 2038) and is a fixed point: representable of it is
// itself. AppendEvent moves an event's Timestamp there before storing it.
func representable(t time.Time) (time.Time, error) {
	seconds, err := secondsFromTime(t)
	if err != nil {
		return time.Time{}, err
	}
	return timeFromSeconds(seconds)
}
