package server

import (
	"errors"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/exec"
)

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		wantStatus string
		wantReason metav1.StatusReason
		wantCause  string
	}{
		{name: "success", wantStatus: metav1.StatusSuccess},
		{name: "exit code", err: fmt.Errorf("stream: %w", exec.CodeExitError{Err: errors.New("command terminated with exit code 3"), Code: 3}),
			wantStatus: metav1.StatusFailure, wantReason: "NonZeroExitCode", wantCause: "3"},
		{name: "other failure", err: errors.New("executable file not found"), wantStatus: metav1.StatusFailure, wantReason: metav1.StatusReasonInternalError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := exitStatus(tc.err)
			if st.Kind != "Status" || st.APIVersion != "v1" || st.Status != tc.wantStatus || st.Reason != tc.wantReason {
				t.Fatalf("got %+v, want status %s reason %s", st, tc.wantStatus, tc.wantReason)
			}
			if tc.wantCause == "" {
				return
			}
			if st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != "ExitCode" || st.Details.Causes[0].Message != tc.wantCause {
				t.Errorf("got details %+v, want an ExitCode cause %s", st.Details, tc.wantCause)
			}
		})
	}
}
