// Command probe is the health check of Skiff's stack images, which have
// no shell: it fetches each URL given and exits 0 only when every one
// answers 2xx. HTTPS certificates are not verified (the probe runs inside
// the container it checks, against loopback).
//
//	probe https://127.0.0.1:6443/readyz https://127.0.0.1:10259/healthz
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe URL...")
		os.Exit(2)
	}
	c := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // loopback self-check
	}
	for _, url := range os.Args[1:] {
		if err := check(c, url); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func check(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s: %s", url, resp.Status, body)
	}
	return nil
}
