package service

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Quotas are App Mesh's per-account service quotas; the defaults are AWS's.
// Each field can be changed with --quota name=value, where name is the
// field's name with a lower-case first letter.
type Quotas struct {
	Meshes                         int // per account
	VirtualNodesPerMesh            int
	VirtualRoutersPerMesh          int
	RoutesPerVirtualRouter         int
	VirtualServicesPerMesh         int
	VirtualGatewaysPerMesh         int
	GatewayRoutesPerVirtualGateway int
	BackendsPerVirtualNode         int
}

// DefaultQuotas returns AWS's default quotas.
func DefaultQuotas() Quotas {
	return Quotas{
		Meshes:                         15,
		VirtualNodesPerMesh:            200,
		VirtualRoutersPerMesh:          200,
		RoutesPerVirtualRouter:         50,
		VirtualServicesPerMesh:         200,
		VirtualGatewaysPerMesh:         3,
		GatewayRoutesPerVirtualGateway: 10,
		BackendsPerVirtualNode:         50,
	}
}

func (q Quotas) check() error {
	v := reflect.ValueOf(q)
	for i := range v.NumField() {
		if v.Field(i).Int() < 1 {
			return fmt.Errorf("quota %s must be at least 1", quotaName(v.Type().Field(i).Name))
		}
	}
	return nil
}

func quotaName(field string) string { return strings.ToLower(field[:1]) + field[1:] }

// QuotaNames lists the names Set accepts, sorted.
func QuotaNames() []string {
	t := reflect.TypeOf(Quotas{})
	var names []string
	for i := range t.NumField() {
		names = append(names, quotaName(t.Field(i).Name))
	}
	sort.Strings(names)
	return names
}

// Set changes one quota from a "name=value" string.
func (q *Quotas) Set(nameValue string) error {
	name, value, ok := strings.Cut(nameValue, "=")
	if !ok {
		return fmt.Errorf("quota %q: want name=value", nameValue)
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < 1 {
		return fmt.Errorf("quota %s: value %q must be a whole number of at least 1", name, value)
	}
	v := reflect.ValueOf(q).Elem()
	for i := range v.NumField() {
		if quotaName(v.Type().Field(i).Name) == name {
			v.Field(i).SetInt(int64(n))
			return nil
		}
	}
	return fmt.Errorf("unknown quota %q (known: %s)", name, strings.Join(QuotaNames(), ", "))
}
