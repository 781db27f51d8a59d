// Package servicemonitorcrd only pins the Prometheus Operator API types that
// controller-gen reads; nothing here is built into the hook.
package servicemonitorcrd

import _ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
