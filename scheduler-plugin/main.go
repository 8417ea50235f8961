// Command kube-scheduler-carbon is the upstream kube-scheduler with one more Score plugin,
// carbonscore.Name, for profiles that prefer the lowest-emission node (docs/enforcement.md).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	"carbon-kube.dev/scheduler-plugin/carbonscore"
)

func main() {
	command := app.NewSchedulerCommand(app.WithPlugin(carbonscore.Name, carbonscore.New))
	os.Exit(cli.Run(command))
}
