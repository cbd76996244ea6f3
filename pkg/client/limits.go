package client

// Message limits of the gRPC connection to the apiserver. gRPC's default
// receive limit, 4 MiB, is smaller than one page of a list of large
// objects, and a component that cannot receive a page never syncs.
//
// The sizes follow from Kubernetes' own: etcd stores a value of at most
// 1.5 MiB (its --max-request-bytes), so an object is at most that; the
// apiserver refuses a request body over 3 MiB (MaxRequestBodyBytes).
// Informers list in pages of 500, so a page of the largest objects is
// 500 × 1.5 MiB = 750 MiB.
const (
	// ListPageSize is the limit components list with.
	ListPageSize = 500
	// MaxRecvMsgSize fits any page of ListPageSize objects, with room for
	// the list's envelope; an unpaged list larger than this fails and is
	// to be paged.
	MaxRecvMsgSize = 1 << 30 // 1 GiB
	// MaxSendMsgSize fits any request the apiserver could accept, even
	// with its --max-request-body-bytes raised well over the 3 MiB
	// default: the apiserver, not the client, decides and answers a
	// request that is too large.
	MaxSendMsgSize = 64 << 20 // 64 MiB
)
