package grpcsession

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

func TestTimeFromSecondsReadsTheShortestDecimalExactly(t *testing.T) {
	tests := []struct {
		seconds float64
		want    time.Time
	}{
		{1700000000.123, time.Unix(1700000000, 123000000)},
		{1763711206.7836134, time.Unix(1763711206, 783613400)},
		{0, time.Unix(0, 0)},
		{-1.5, time.Unix(-2, 500000000)},
		{-62135596800, time.Time{}},
		{253402300799.99997, time.Unix(253402300799, 999970000)},
	}
	for _, tt := range tests {
		got, err := timeFromSeconds(tt.seconds)
		if err != nil {
			t.Fatalf("timeFromSeconds(%v) error = %v", tt.seconds, err)
		}
		if !got.Equal(tt.want) {
			t.Errorf("timeFromSeconds(%v) = %v, want %v", tt.seconds, got, tt.want)
		}
	}
}

func TestTimeFromSecondsRoundsSubNanosecondDigitsHalfToEven(t *testing.T) {
	// 5e-10 is exactly half a nanosecond in its shortest decimal form: to even (0).
	got, err := timeFromSeconds(5e-10)
	if err != nil || !got.Equal(time.Unix(0, 0)) {
		t.Errorf("timeFromSeconds(5e-10) = %v, %v; want the epoch", got, err)
	}
	got, err = timeFromSeconds(1.5e-9)
	if err != nil || !got.Equal(time.Unix(0, 2)) {
		t.Errorf("timeFromSeconds(1.5e-9) = %v, %v; want 2 ns", got, err)
	}
}

func TestTimeFromSecondsRejectsWhatATimestampCannotHold(t *testing.T) {
	for _, seconds := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 253402300800, -62135596801, 1e300} {
		if _, err := timeFromSeconds(seconds); err == nil {
			t.Errorf("timeFromSeconds(%v) succeeded, want an error", seconds)
		}
	}
}

// Every float ADK Python can hold for a date since 1970-04-08 survives the
// trip to a time.Time and back bit for bit.
func TestSecondsSurviveTheTripThroughTime(t *testing.T) {
	random := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		seconds := float64(1<<23) + random.Float64()*(maxUnixSeconds-float64(1<<23))
		instant, err := timeFromSeconds(seconds)
		if err != nil {
			t.Fatalf("timeFromSeconds(%v) error = %v", seconds, err)
		}
		back, err := secondsFromTime(instant)
		if err != nil || back != seconds {
			t.Fatalf("%v -> %v -> %v (%v)", seconds, instant, back, err)
		}
	}
}

// A time a float64 cannot hold moves, by at most one step between floats,
// to one that it can, and stays there on every later trip.
func TestRepresentableMovesATimeOnceAndByAtMostOneStep(t *testing.T) {
	random := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		instant := time.Unix(random.Int64N(4_000_000_000), random.Int64N(nanosPerSecond))
		moved, err := representable(instant)
		if err != nil {
			t.Fatalf("representable(%v) error = %v", instant, err)
		}
		seconds, _ := secondsFromTime(instant)
		step := time.Duration(math.Ceil((math.Nextafter(seconds, math.Inf(1)) - seconds) * 1e9))
		if shift := moved.Sub(instant).Abs(); shift > step {
			t.Fatalf("representable(%v) = %v: moved by %v, more than %v", instant, moved, shift, step)
		}
		again, _ := representable(moved)
		if !again.Equal(moved) {
			t.Fatalf("representable is not stable: %v -> %v -> %v", instant, moved, again)
		}
	}
}

func TestMicrosecondTimesAreHeldExactly(t *testing.T) {
	instant := time.Date(2026, 11, 21, 8, 46, 52, 123456000, time.UTC)
	moved, err := representable(instant)
	if err != nil || !moved.Equal(instant) {
		t.Errorf("representable(%v) = %v, %v; want it unchanged", instant, moved, err)
	}
}

func TestSecondsJSONIsPythonsShortestFloatText(t *testing.T) {
	tests := map[float64]string{
		1700000000.123:     "1700000000.123",
		1763711206.7836134: "1763711206.7836134",
		1700000000:         "1700000000.0",
		-62135596800:       "-62135596800.0",
	}
	for seconds, want := range tests {
		if got := secondsJSON(seconds); got != want {
			t.Errorf("secondsJSON(%v) = %q, want %q", seconds, got, want)
		}
		if back, _ := strconv.ParseFloat(want, 64); back != seconds {
			t.Errorf("%q reads back as %v, want %v", want, back, seconds)
		}
	}
}
