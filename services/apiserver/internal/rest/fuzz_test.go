package rest

import (
	"net/http/httptest"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/pkg/kprotobuf"
	"skiff.dev/services/apiserver/internal/apierrors"
)

// bodyFormats are the request body formats the fuzzer chooses from.
var bodyFormats = []string{mediaJSON, mediaYAML, mediaProtobuf}

// FuzzDecodeBody: a request body of any bytes, in any of the formats the
// apiserver reads, is read as a Pod or refused with 400, never a panic; a
// body read under Strict is read the same under Ignore; and the Pod read
// re-encodes as JSON that reads back to the same Pod.
func FuzzDecodeBody(f *testing.F) {
	f.Add(uint8(0), []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}`))
	f.Add(uint8(0), []byte(`{"metadata":{"name":"web","name":"twice"},"colour":"red"}`))
	f.Add(uint8(1), []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n"))
	f.Add(uint8(1), []byte("metadata: [\n"))
	f.Add(uint8(2), append([]byte(nil), kprotobuf.Magic...))
	f.Fuzz(func(t *testing.T, format uint8, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		mt := bodyFormats[int(format)%len(bodyFormats)]
		var strict, lenient corev1.Pod
		strictErr := decodeAs(mt, data, &strict, validationStrict, httptest.NewRecorder())
		lenientErr := decodeAs(mt, data, &lenient, validationIgnore, httptest.NewRecorder())
		for _, err := range []error{strictErr, lenientErr} {
			if err != nil && apierrors.ToStatus(err).GetCode() != 400 {
				t.Fatalf("%s body %q: %v, want a 400", mt, data, err)
			}
		}
		if lenientErr != nil {
			if strictErr == nil {
				t.Fatalf("%s body %q: read under Strict, refused under Ignore: %v", mt, data, lenientErr)
			}
			return
		}
		if strictErr == nil && !proto.Equal(&strict, &lenient) {
			t.Fatalf("%s body %q: Strict read %v, Ignore %v", mt, data, &strict, &lenient)
		}
		out, err := kjson.Marshal(&lenient)
		if err != nil {
			return
		}
		var again corev1.Pod
		if err := kjson.Unmarshal(out, &again); err != nil || !proto.Equal(&lenient, &again) {
			t.Fatalf("%s body %q: the Pod read re-encodes as %s, which reads back as %v, %v", mt, data, out, &again, err)
		}
	})
}
