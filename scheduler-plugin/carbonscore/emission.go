// Package carbonscore is a kube-scheduler Score plugin that prefers the node where a pod's
// expected emissions are lowest: the carbon-kube extender's prioritize verb without the HTTP
// round trip in every scheduling cycle.
//
// It holds no tables of its own. The carbon-kube controller labels every node with its grid
// zone's current intensity and its facility power coefficients from the project's energy
// model; this package multiplies them with the pod's requests, exactly as the Python
// reference carbon_kube.policy.label_scoring does (testdata/score_nodes_cases.json is
// generated from it, and a pytest regenerates it so the two cannot drift).
package carbonscore

import (
	"math"
	"strconv"

	v1 "k8s.io/api/core/v1"
)

// Labels the carbon-kube controller writes on nodes (carbon_kube.domain.annotations).
const (
	IntensityLabel    = "carbon-kube.io/intensity-g-per-kwh"
	WattsPerVCPULabel = "carbon-kube.io/watts-per-vcpu"
	WattsPerGiBLabel  = "carbon-kube.io/watts-per-gib"
)

// A pod without requests is scored as one vCPU and 1 GiB (carbon_kube.planning.workloads):
// only the ratio between nodes matters to the score.
const (
	DefaultCPUs      = 1.0
	DefaultMemoryGiB = 1.0
)

// isPlainDecimal reports whether raw is the label format the controller writes: a plain
// non-negative decimal, digits with at most one inner dot (`^[0-9]+(\.[0-9]+)?$`). Anything
// else is "no data" (neutral), never an error: carbon must not block scheduling. Hand-written
// rather than a regexp because it runs three times per node in every scheduling cycle: the
// regexp made the plugin's share of a 230-node cycle ~150 us (bench-scheduler-plugin).
func isPlainDecimal(raw string) bool {
	digits, dot := 0, -1
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && dot < 0 && digits > 0:
			dot = i
		default:
			return false
		}
	}
	return digits > 0 && dot != len(raw)-1
}

func labelValue(labels map[string]string, key string) (float64, bool) {
	raw, ok := labels[key]
	if !ok || !isPlainDecimal(raw) {
		return 0, false
	}
	value, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsInf(value, 0) {
		return 0, false
	}
	return value, true
}

// Emission is intensity x (cpus x W/vCPU + memory x W/GiB) / 1000: grams per hour of
// running, from a node's labels. ok is false when any of the three labels is missing or
// malformed; such a node scores neutral.
func Emission(labels map[string]string, cpus, memoryGiB float64) (grams float64, ok bool) {
	intensity, ok1 := labelValue(labels, IntensityLabel)
	perVCPU, ok2 := labelValue(labels, WattsPerVCPULabel)
	perGiB, ok3 := labelValue(labels, WattsPerGiBLabel)
	if !ok1 || !ok2 || !ok3 {
		return 0, false
	}
	// The explicit conversions forbid fused multiply-add, so the float64 result is the one
	// Python computes for PowerModel(perVCPU, perGiB, pue=1).energy_kwh(cpus, memoryGiB, 1).
	powerW := float64(float64(cpus*perVCPU)+float64(memoryGiB*perGiB)) * 1.0
	energyKWh := powerW * 1.0 / 1000.0
	return intensity * energyKWh, true
}

// Neutral is the score of a node without data: the middle of the range.
func Neutral(maxScore int64) int64 { return maxScore / 2 }

// Scores maps emissions onto 0..maxScore like carbon_kube.policy.scoring.score_nodes: the
// lowest emission scores maxScore, the highest 0, linear in between (rounded half up); all
// nodes with data tie -> all maxScore; a node without data (known[i] false) -> Neutral.
func Scores(emissions []float64, known []bool, maxScore int64) []int64 {
	low, high, any := math.Inf(1), math.Inf(-1), false
	for i, e := range emissions {
		if known[i] {
			low, high, any = math.Min(low, e), math.Max(high, e), true
		}
	}
	scores := make([]int64, len(emissions))
	for i, e := range emissions {
		switch {
		case !any || !known[i]:
			scores[i] = Neutral(maxScore)
		case high == low:
			scores[i] = maxScore
		default:
			scores[i] = int64(math.Floor(float64(maxScore)*(high-e)/(high-low) + 0.5))
		}
	}
	return scores
}

// PodSize is the (vCPU, GiB) a pod requests as carbon_kube.planning.workloads.object_size
// counts it: the sum over containers or the largest init container, whichever is larger;
// limits stand in for absent requests; zero falls back to the defaults.
func PodSize(pod *v1.Pod) (cpus, memoryGiB float64) {
	cpus, memoryGiB = sumRequests(pod.Spec.Containers)
	var initCPUs, initMemory float64
	for i := range pod.Spec.InitContainers {
		c, m := sumRequests(pod.Spec.InitContainers[i : i+1])
		initCPUs, initMemory = math.Max(initCPUs, c), math.Max(initMemory, m)
	}
	cpus, memoryGiB = math.Max(cpus, initCPUs), math.Max(memoryGiB, initMemory)
	if cpus <= 0 {
		cpus = DefaultCPUs
	}
	if memoryGiB <= 0 {
		memoryGiB = DefaultMemoryGiB
	}
	return cpus, memoryGiB
}

func sumRequests(containers []v1.Container) (cpus, memoryGiB float64) {
	for i := range containers {
		values := containers[i].Resources.Requests
		if len(values) == 0 {
			values = containers[i].Resources.Limits
		}
		if q, ok := values[v1.ResourceCPU]; ok {
			cpus += float64(q.MilliValue()) / 1000
		}
		if q, ok := values[v1.ResourceMemory]; ok {
			memoryGiB += float64(q.Value()) / (1 << 30)
		}
	}
	return cpus, memoryGiB
}
