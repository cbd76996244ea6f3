// Package pkg is the root of Skiff's shared libraries; each subpackage does
// one thing and is used by at least two services.
package pkg
