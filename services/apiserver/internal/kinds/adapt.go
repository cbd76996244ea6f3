package kinds

import (
	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/object"
)

// The typed defaulting and validation functions are adapted to the
// registry's untyped hooks here, once, instead of by hand per kind.

func mutate[T proto.Message](f func(T)) func(proto.Message) {
	return func(obj proto.Message) { f(obj.(T)) }
}

func check[T proto.Message](f func(T) field.ErrorList) func(proto.Message) field.ErrorList {
	return func(obj proto.Message) field.ErrorList { return f(obj.(T)) }
}

func checkUpdate[T proto.Message](f func(T, T) field.ErrorList) func(proto.Message, proto.Message) field.ErrorList {
	return func(obj, old proto.Message) field.ErrorList { return f(obj.(T), old.(T)) }
}

func fields[T proto.Message](f func(T) map[string]string) func(proto.Message) map[string]string {
	return func(obj proto.Message) map[string]string { return f(obj.(T)) }
}

// keepMeta adapts a rule that takes metadata from the stored object.
func keepMeta(f func(meta, old *metav1.ObjectMeta)) func(proto.Message, proto.Message) {
	return func(obj, old proto.Message) { f(object.Meta(obj), object.Meta(old)) }
}
