package netpol

import (
	"slices"
	"testing"
)

func TestBlockSpans(t *testing.T) {
	tests := []struct {
		cidr   string
		except []string
		want   []string
	}{
		{"10.0.0.0/8", nil, []string{"10.0.0.0-10.255.255.255"}},
		{"10.0.0.5/8", nil, []string{"10.0.0.0-10.255.255.255"}},
		{"10.0.0.0/8", []string{"10.244.0.0/16"}, []string{"10.0.0.0-10.243.255.255", "10.245.0.0-10.255.255.255"}},
		{"10.0.0.0/24", []string{"10.0.0.0/25", "10.0.0.255/32"}, []string{"10.0.0.128-10.0.0.254"}},
		{"10.0.0.7/32", nil, []string{"10.0.0.7"}},
		{"0.0.0.0/0", []string{"0.0.0.0/1"}, []string{"128.0.0.0-255.255.255.255"}},
		{"10.0.0.0/24", []string{"10.0.0.0/24"}, nil},
		{"fd00::/64", nil, nil},
		{"bogus", nil, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, s := range blockSpans(tt.cidr, tt.except) {
			got = append(got, s.element())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s except %v: got %v, want %v", tt.cidr, tt.except, got, tt.want)
		}
	}
}

func TestMerge(t *testing.T) {
	got := merge([]span{{10, 20}, {0, 5}, {6, 8}, {15, 30}, {40, 40}})
	want := []span{{0, 8}, {10, 30}, {40, 40}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := merge([]span{{0, 0xffffffff}, {5, 6}}); !slices.Equal(got, []span{{0, 0xffffffff}}) {
		t.Errorf("got %v, want the whole space", got)
	}
}
