package pods

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/kubelet/internal/crilog"
)

// Kubernetes' annotations that keep a container's termination message
// settings on the container, so its message can be read after a kubelet
// restart.
const (
	annotationTerminationMessagePath   = "io.kubernetes.container.terminationMessagePath"
	annotationTerminationMessagePolicy = "io.kubernetes.container.terminationMessagePolicy"
)

// Kubernetes' bounds: the last 4096 bytes of the termination-message file;
// with FallbackToLogsOnError, the last 80 lines of the log, at most their
// last 2048 bytes.
const (
	maxTerminationMessage     = 4 << 10
	maxTerminationLogBytes    = 2 << 10
	maxTerminationLogLines    = 80
	policyFallbackToLogsOnErr = "FallbackToLogsOnError"
)

// terminationFile makes a fresh, empty file for one instance of a
// container to leave its termination message in, writable whatever user
// the container runs as.
func (m *Manager) terminationFile(uid, container string) (string, error) {
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return "", err
	}
	path := filepath.Join(m.podDir(uid), "containers", container, hex.EncodeToString(id))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("make the termination message file: %w", err)
	}
	if err := os.WriteFile(path, nil, 0o666); err != nil {
		return "", fmt.Errorf("make the termination message file: %w", err)
	}
	if err := os.Chmod(path, 0o666); err != nil { // past the umask
		return "", fmt.Errorf("make the termination message file writable: %w", err)
	}
	return path, nil
}

// terminationAnnotations record the container's termination message path
// and policy on its runtime container.
func terminationAnnotations(spec *corev1.Container, annotations map[string]string) {
	if p := spec.GetTerminationMessagePath(); p != "" {
		annotations[annotationTerminationMessagePath] = p
	}
	if p := spec.GetTerminationMessagePolicy(); p != "" {
		annotations[annotationTerminationMessagePolicy] = p
	}
}

// terminationMessage is what an ended container left: the end of its
// termination-message file, or with FallbackToLogsOnError the end of its
// log when the file is empty and the container failed (one that could
// not even start has no log to read).
func terminationMessage(cs *runtimeapi.ContainerStatus) string {
	fallback := cs.GetAnnotations()[annotationTerminationMessagePolicy] == policyFallbackToLogsOnErr &&
		cs.GetExitCode() != 0 && cs.GetReason() != "ContainerCannotRun"
	msg, empty := readTerminationFile(cs)
	if empty && fallback {
		return tailLog(cs.GetLogPath())
	}
	return msg
}

// readTerminationFile reads the end of the container's termination-message
// file; empty reports that it holds nothing (or is not there).
func readTerminationFile(cs *runtimeapi.ContainerStatus) (msg string, empty bool) {
	path := cs.GetAnnotations()[annotationTerminationMessagePath]
	if path == "" {
		return "", true
	}
	for _, mount := range cs.GetMounts() {
		if mount.GetContainerPath() != path {
			continue
		}
		data, err := readTail(mount.GetHostPath(), maxTerminationMessage)
		if os.IsNotExist(err) {
			return "", true
		}
		if err != nil {
			return fmt.Sprintf("Error on reading termination log %s: %v", mount.GetHostPath(), err), false
		}
		return string(data), len(data) == 0
	}
	return "", true
}

// readTail reads at most the last n bytes of a file.
func readTail(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > n {
		if _, err := f.Seek(-n, io.SeekEnd); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(io.LimitReader(f, n))
}

// tailLog is the end of a container's log as Kubernetes reports it for
// FallbackToLogsOnError.
func tailLog(path string) string {
	var out bytes.Buffer
	if err := crilog.ReadFile(context.Background(), path, crilog.Options{TailLines: maxTerminationLogLines}, &out, nil); err != nil {
		return fmt.Sprintf("Error on reading termination message from logs: %v", err)
	}
	b := out.Bytes()
	if len(b) > maxTerminationLogBytes {
		b = b[len(b)-maxTerminationLogBytes:]
	}
	return string(b)
}

// withTerminationMessage adds what an ended container left to the
// runtime's message about it, as Kubernetes does.
func withTerminationMessage(cs *runtimeapi.ContainerStatus) {
	msg := terminationMessage(cs)
	switch {
	case msg == "":
	case cs.GetMessage() != "":
		cs.Message += ": " + msg
	default:
		cs.Message = msg
	}
}

// removeTerminationFile removes an ended container's termination-message
// file with the container.
func removeTerminationFile(cs *runtimeapi.ContainerStatus) {
	path := cs.GetAnnotations()[annotationTerminationMessagePath]
	for _, mount := range cs.GetMounts() {
		if path != "" && mount.GetContainerPath() == path {
			_ = os.Remove(mount.GetHostPath())
		}
	}
}
