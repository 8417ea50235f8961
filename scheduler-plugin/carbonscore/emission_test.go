package carbonscore

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// fixture mirrors testdata/score_nodes_cases.json, written by scripts/native_score_fixture.py
// from the Python scoring (carbon_kube.policy.label_scoring): every number here is Python's.
type fixture struct {
	MaxScore int64 `json:"max_score"`
	Cases    []struct {
		Name          string     `json:"name"`
		PodSpec       v1.PodSpec `json:"pod_spec"`
		WantCPUs      float64    `json:"want_cpus"`
		WantMemoryGiB float64    `json:"want_memory_gib"`
		Nodes         []struct {
			Name              string            `json:"name"`
			Labels            map[string]string `json:"labels"`
			WantEmissionGPerH *float64          `json:"want_emission_g_per_h"`
			WantScore         int64             `json:"want_score"`
		} `json:"nodes"`
	} `json:"cases"`
}

func loadFixture(t *testing.T) fixture {
	t.Helper()
	raw, err := os.ReadFile("testdata/score_nodes_cases.json")
	if err != nil {
		t.Fatalf("reading the fixture (regenerate: scripts/native_score_fixture.py): %v", err)
	}
	var f fixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("decoding the fixture: %v", err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("the fixture has no cases")
	}
	return f
}

// The Go scoring reproduces Python's sizes, emissions (bit for bit) and scores for every case.
func TestScoresMatchThePythonReference(t *testing.T) {
	f := loadFixture(t)
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			cpus, memoryGiB := PodSize(&v1.Pod{Spec: c.PodSpec})
			if cpus != c.WantCPUs || memoryGiB != c.WantMemoryGiB {
				t.Fatalf("pod size = (%v vCPU, %v GiB), want (%v, %v)", cpus, memoryGiB, c.WantCPUs, c.WantMemoryGiB)
			}
			emissions := make([]float64, len(c.Nodes))
			known := make([]bool, len(c.Nodes))
			for i, n := range c.Nodes {
				emissions[i], known[i] = Emission(n.Labels, cpus, memoryGiB)
				switch {
				case n.WantEmissionGPerH == nil && known[i]:
					t.Errorf("%s: emission %v, want none (no data)", n.Name, emissions[i])
				case n.WantEmissionGPerH != nil && !known[i]:
					t.Errorf("%s: no emission, want %v", n.Name, *n.WantEmissionGPerH)
				case n.WantEmissionGPerH != nil && emissions[i] != *n.WantEmissionGPerH:
					t.Errorf("%s: emission %v, want exactly %v", n.Name, emissions[i], *n.WantEmissionGPerH)
				}
			}
			for i, got := range Scores(emissions, known, f.MaxScore) {
				if got != c.Nodes[i].WantScore {
					t.Errorf("%s: score %d, want %d", c.Nodes[i].Name, got, c.Nodes[i].WantScore)
				}
			}
		})
	}
}

func TestScoresOfNoNodesIsEmpty(t *testing.T) {
	if got := Scores(nil, nil, 100); len(got) != 0 {
		t.Fatalf("Scores(nil) = %v", got)
	}
}

// The hand-written label check accepts exactly what the documented pattern accepts; Go's
// fuzzer explores beyond the seeds (`go test -fuzz FuzzIsPlainDecimal`), plain `go test`
// checks the seeds.
func FuzzIsPlainDecimal(f *testing.F) {
	pattern := regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	for _, seed := range []string{"", "0", "312", "1.2258", ".5", "5.", "1.2.3", "+5", " 5", "1e3", "0.000001", "١٢"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if got, want := isPlainDecimal(raw), pattern.MatchString(raw); got != want {
			t.Errorf("isPlainDecimal(%q) = %v, the pattern says %v", raw, got, want)
		}
	})
}
