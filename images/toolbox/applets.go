package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// cat copies each file, or stdin when none is named, to stdout.
func cat(std stdio, files []string) error {
	if len(files) == 0 {
		_, err := io.Copy(std.out, std.in)
		return err
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		_, err = io.Copy(std.out, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// head copies the first lines of its input (10, or -n N) to its output
// and stops reading there.
func head(std stdio, args []string) error {
	n := 10
	if len(args) == 2 && args[0] == "-n" {
		v, err := strconv.Atoi(args[1])
		if err != nil || v < 0 {
			return fmt.Errorf("head: invalid number of lines %q", args[1])
		}
		n = v
	} else if len(args) > 0 {
		return fmt.Errorf("usage: head [-n LINES]")
	}
	r := bufio.NewReader(std.in)
	for ; n > 0; n-- {
		line, err := r.ReadString('\n')
		if _, werr := io.WriteString(std.out, line); werr != nil {
			return werr
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// exit exits with its argument, or 0.
func exit(_ stdio, args []string) error {
	if len(args) == 0 {
		return nil
	}
	code, err := strconv.Atoi(args[0])
	if err != nil || code < 0 || code > 255 {
		return fmt.Errorf("exit code %q: want 0 to 255", args[0])
	}
	return exitStatus(code)
}

// id prints the process's user, group and supplementary groups as
// busybox's id does: uid=N gid=N groups=N,N.
func id(std stdio, _ []string) error {
	groups, err := os.Getgroups()
	if err != nil {
		return err
	}
	list := make([]string, len(groups))
	for i, g := range groups {
		list[i] = strconv.Itoa(g)
	}
	return say(std.out, fmt.Sprintf("uid=%d gid=%d groups=%s", os.Getuid(), os.Getgid(), strings.Join(list, ",")))
}

// write replaces a file's contents with its other arguments, joined by
// spaces, without a newline (a shell's echo -n TEXT > FILE).
func write(_ stdio, args []string) error {
	if len(args) < 1 {
		return errors.New("usage: write FILE [TEXT...]")
	}
	return os.WriteFile(args[0], []byte(strings.Join(args[1:], " ")), 0o644)
}

func hostname(std stdio, _ []string) error {
	name, err := os.Hostname()
	if err != nil {
		return err
	}
	return say(std.out, name)
}

// ls lists the entries of a directory (default "."), one a line, with a
// "/" after directories; given a file, it prints the file's name.
func ls(std stdio, args []string) error {
	dir := "."
	if len(args) > 0 {
		dir = args[0]
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return say(std.out, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			name += "/"
		}
		if err := say(std.out, name); err != nil {
			return err
		}
	}
	return nil
}

// sleep sleeps for its argument in seconds, which may be a fraction or
// "infinity".
func sleep(_ stdio, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: sleep SECONDS")
	}
	s, err := strconv.ParseFloat(args[0], 64)
	if err != nil || s < 0 || math.IsNaN(s) {
		return fmt.Errorf("%q is not a number of seconds", args[0])
	}
	d := time.Duration(math.MaxInt64) // "infinity": 292 years
	if s < float64(d)/float64(time.Second) {
		d = time.Duration(s * float64(time.Second))
	}
	time.Sleep(d)
	return nil
}

// touch creates the file name if it is missing and sets its times to now.
func touch(name string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	now := time.Now()
	return os.Chtimes(name, now, now)
}

// eachFile is an applet applying do to each of at least one file.
func eachFile(do func(name string) error) applet {
	return func(_ stdio, files []string) error {
		if len(files) == 0 {
			return errors.New("no file named")
		}
		for _, name := range files {
			if err := do(name); err != nil {
				return err
			}
		}
		return nil
	}
}

// get fetches each URL over HTTP and copies the body to stdout; an error
// or a status other than 2xx fails it (a pod's curl, for network tests).
func get(std stdio, urls []string) error {
	if len(urls) == 0 {
		return errors.New("get: no URL")
	}
	c := &http.Client{Timeout: 5 * time.Second}
	for _, u := range urls {
		resp, err := c.Get(u)
		if err != nil {
			return err
		}
		_, err = io.Copy(std.out, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("get %s: %s", u, resp.Status)
		}
	}
	return nil
}
