// SPDX-License-Identifier: AGPL-3.0-or-later
//
// Benchmark peer, never shipped: what a user would build instead of boot-exporter in Go with
// client_golang. It serves the same metric set (names, types, labels) with the values of a snapshot
// taken from a booted boot-exporter, the way node_exporter's collectors work: a Collector that
// turns the current state into const metrics at every scrape.
//
// Usage: go-exporter <port> <snapshot.prom>
package main

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type sample struct {
	labels []string
	value  float64
}

type family struct {
	name       string
	help       string
	valueType  prometheus.ValueType
	labelNames []string
	samples    []sample
	desc       *prometheus.Desc
}

// snapshotCollector emits the snapshot's families at every scrape.
type snapshotCollector struct{ families []*family }

func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range c.families {
		ch <- f.desc
	}
}

func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range c.families {
		for _, s := range f.samples {
			ch <- prometheus.MustNewConstMetric(f.desc, f.valueType, s.value, s.labels...)
		}
	}
}

func parseValue(text string) float64 {
	switch text {
	case "NaN":
		return math.NaN()
	case "+Inf":
		return math.Inf(1)
	case "-Inf":
		return math.Inf(-1)
	}
	v, _ := strconv.ParseFloat(text, 64)
	return v
}

func parseLabels(text string) (names, values []string) {
	for len(text) > 0 {
		eq := strings.IndexByte(text, '=')
		if eq < 0 {
			break
		}
		names = append(names, text[:eq])
		var value strings.Builder
		i := eq + 2
		for ; i < len(text) && text[i] != '"'; i++ {
			if text[i] == '\\' {
				i++
				if text[i] == 'n' {
					value.WriteByte('\n')
					continue
				}
			}
			value.WriteByte(text[i])
		}
		values = append(values, value.String())
		text = text[i+1:]
		text = strings.TrimPrefix(text, ",")
	}
	return
}

func parseSnapshot(path string) ([]*family, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	var families []*family
	helps := map[string]string{}
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		line := scanner.Text()
		switch {
		case line == "":
		case strings.HasPrefix(line, "# HELP "):
			rest := strings.SplitN(line[7:], " ", 2)
			helps[rest[0]] = rest[1]
		case strings.HasPrefix(line, "# TYPE "):
			parts := strings.Fields(line[7:])
			vt := prometheus.GaugeValue
			if parts[1] == "counter" {
				vt = prometheus.CounterValue
			}
			families = append(families, &family{name: parts[0], help: helps[parts[0]], valueType: vt})
		case strings.HasPrefix(line, "#"):
		default:
			f := families[len(families)-1]
			space := strings.LastIndexByte(line, ' ')
			series := line[:space]
			var names, values []string
			if open := strings.IndexByte(series, '{'); open >= 0 {
				names, values = parseLabels(series[open+1 : len(series)-1])
			}
			f.labelNames = names
			f.samples = append(f.samples, sample{labels: values, value: parseValue(line[space+1:])})
		}
	}
	return families, scanner.Err()
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go-exporter <port> <snapshot.prom>")
		os.Exit(2)
	}
	families, err := parseSnapshot(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The request counter is live, as boot-exporter's is; the rest comes from the snapshot.
	var kept []*family
	for _, f := range families {
		if f.name == "boot_exporter_http_requests_total" {
			continue
		}
		f.desc = prometheus.NewDesc(f.name, f.help, f.labelNames, nil)
		kept = append(kept, f)
	}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "boot_exporter_http_requests_total",
		Help: "HTTP requests answered, by handler and status code.",
	}, []string{"handler", "code"})
	registry := prometheus.NewRegistry()
	registry.MustRegister(&snapshotCollector{families: kept}, requests)
	handler := promhttp.InstrumentHandlerCounter(
		requests.MustCurryWith(prometheus.Labels{"handler": "/metrics"}),
		promhttp.HandlerFor(registry, promhttp.HandlerOpts{}),
	)
	http.Handle("/metrics", handler)
	if err := http.ListenAndServe("127.0.0.1:"+os.Args[1], nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
