package pods

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestTerminationMessage(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var log, long strings.Builder
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(&log, "2026-12-06T08:00:00.000000000Z stdout F line %d\n", i)
	}
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&long, "2026-12-06T08:00:00.000000000Z stderr F %s\n", strings.Repeat("x", 99))
	}
	logFile := write("log", log.String()+"2026-12-06T08:00:00.000000000Z stdout P DONE\n")
	longLog := write("long", long.String())
	var last80 strings.Builder
	for i := 22; i <= 100; i++ { // 79 lines and the unfinished one make 80
		fmt.Fprintf(&last80, "line %d\n", i)
	}
	tests := []struct {
		name, file, policy, runtimeMsg, logPath string
		noFile                                  bool
		exit                                    int32
		want                                    string
	}{
		{name: "file", file: "OK", want: "OK"},
		{name: "file wins over logs", file: "OK", policy: "FallbackToLogsOnError", exit: 1, logPath: logFile, want: "OK"},
		{name: "no fallback for success", policy: "FallbackToLogsOnError", logPath: logFile, want: ""},
		{name: "no fallback by default", exit: 1, logPath: logFile, want: ""},
		{name: "fallback: last 80 lines", policy: "FallbackToLogsOnError", exit: 1, logPath: logFile, want: last80.String() + "DONE"},
		{name: "fallback: last 2048 bytes", policy: "FallbackToLogsOnError", exit: 1, logPath: longLog,
			want: strings.Repeat(strings.Repeat("x", 99)+"\n", 21)[100*21-2048:]},
		{name: "fallback without a file", noFile: true, policy: "FallbackToLogsOnError", exit: 2, logPath: logFile, want: last80.String() + "DONE"},
		{name: "last 4096 bytes of the file", file: strings.Repeat("a", 100) + strings.Repeat("b", 4096), want: strings.Repeat("b", 4096)},
		{name: "after the runtime's message", file: "out of memory", runtimeMsg: "OOMKilled", exit: 137, want: "OOMKilled: out of memory"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := &runtimeapi.ContainerStatus{ExitCode: tt.exit, Message: tt.runtimeMsg, LogPath: tt.logPath,
				Annotations: map[string]string{annotationTerminationMessagePath: "/dev/termination-log"}}
			if tt.policy != "" {
				cs.Annotations[annotationTerminationMessagePolicy] = tt.policy
			}
			host := filepath.Join(dir, fmt.Sprintf("msg-%d", i))
			if !tt.noFile {
				write(filepath.Base(host), tt.file)
			}
			cs.Mounts = []*runtimeapi.Mount{{ContainerPath: "/dev/termination-log", HostPath: host}}
			withTerminationMessage(cs)
			if cs.GetMessage() != tt.want {
				t.Errorf("got %q, want %q", cs.GetMessage(), tt.want)
			}
		})
	}
}
