// Package api is the root of the Go code generated from proto/ by buf.
// Nothing under it is edited by hand; run `make proto` after changing a
// .proto file.
package api
