package spec

import (
	"google.golang.org/protobuf/reflect/protoreflect"

	authenticationv1 "skiff.dev/api/authentication/v1"
	autoscalingv1 "skiff.dev/api/autoscaling/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// statusMessage names meta/v1 Status, the answer of deletes.
type statusMessage struct{}

func (statusMessage) descriptor() protoreflect.MessageDescriptor {
	return (&metav1.Status{}).ProtoReflect().Descriptor()
}

func scaleDescriptor() protoreflect.MessageDescriptor {
	return (&autoscalingv1.Scale{}).ProtoReflect().Descriptor()
}

func bindingDescriptor() protoreflect.MessageDescriptor {
	return (&corev1.Binding{}).ProtoReflect().Descriptor()
}

func tokenRequestDescriptor() protoreflect.MessageDescriptor {
	return (&authenticationv1.TokenRequest{}).ProtoReflect().Descriptor()
}
