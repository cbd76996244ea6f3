package imagebuild

import "path"

// ConformanceRegistry is where the conformance images live, as pods name
// them: the compose stack's registry (the nodes pull localhost:5000 from
// it). deploy/conformance/repo-list.yaml sends every registry of the
// upstream suite here.
const ConformanceRegistry = "localhost:5000"

// The paths below are the upstream suite's (k8s.io/kubernetes
// test/utils/image/manifest.go, v1.34) under the registries that
// repo-list.yaml maps them to.
const (
	e2eImages = ConformanceRegistry + "/e2e-test-images" // promoterE2eRegistry
	k8sImages = ConformanceRegistry                      // gcRegistry
)

// Conformance are the images the upstream Kubernetes conformance suite's
// specs run (`make conformance`), built from what this machine has: the
// suite's own agnhost (built from the kubernetes module by
// scripts/conformance.sh), Debian's busybox-static, curl, netcat-openbsd,
// bash and iproute2, and Skiff's pause.
var Conformance = []Image{
	agnhost(),
	busybox(e2eImages + "/busybox:1.37.0-1"),
	{Package: "./pause", Ref: k8sImages + "/pause:3.10.1", Binary: "/pause"},
	// Stand-ins for upstream's httpd and nginx, which specs run as
	// something that serves HTTP on port 80: busybox's httpd.
	webServer(e2eImages+"/httpd:2.4.38-4", "/usr/local/apache2/htdocs"),
	webServer(e2eImages+"/httpd:2.4.39-4", "/usr/local/apache2/htdocs"),
	webServer(e2eImages+"/nginx:1.14-4", "/usr/share/nginx/html"),
	webServer(e2eImages+"/nginx:1.15-4", "/usr/share/nginx/html"),
}

// conformancePackages are the Debian packages the Conformance images
// carry programs of.
var conformancePackages = []string{"busybox-static", "curl", "netcat-openbsd", "bash", "iproute2"}

// busyboxBin is where Debian's busybox-static installs busybox.
const busyboxBin = "/bin/busybox"

// imagePath is the PATH of the conformance images, Alpine's.
const imagePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// agnhost is upstream's test image: the agnhost program as entrypoint
// (`pause` by default) with what its Alpine base and Dockerfile add that
// the specs use: a real curl, nc (netcat-openbsd), bash as /bin/sh, ip and
// ss, busybox for the rest, the porter's TLS pair in /, /uploads for
// netexec, the agnhost-2 link, and user 1000 in group 50000.
func agnhost() Image {
	return Image{
		Prebuilt: "../bin/conformance/agnhost",
		Ref:      e2eImages + "/agnhost:2.56",
		Binary:   "/agnhost",
		Cmd:      []string{"pause"},
		Host: []string{
			"/usr/bin/curl", "/bin/nc.openbsd", "/bin/bash",
			"/sbin/ip", "/usr/bin/ss",
		},
		Multicall: []string{busyboxBin},
		Packages:  conformancePackages,
		Files: append(accounts(),
			File{Path: "/bin/sh", Link: "/bin/bash"},
			File{Path: "/usr/bin/nc", Link: "/bin/nc.openbsd"},
			File{Path: "/agnhost-2", Link: "/agnhost"},
			File{Path: "/localhost.crt", Src: "../bin/conformance/porter/localhost.crt", Mode: 0o644},
			File{Path: "/localhost.key", Src: "../bin/conformance/porter/localhost.key", Mode: 0o644},
		),
		Dirs: []string{"/tmp", "/uploads"},
		Env:  []string{imagePath},
	}
}

// busybox is upstream's busybox image: busybox --install -s, no
// entrypoint, sh by default. Its sh is bash: Debian's busybox 1.35 ash
// drops environment variables whose names are not shell names (data-1,
// 1-data) from what it passes on, where the suite's busybox 1.37 keeps
// them, and the envFrom specs read them with `sh -c env`.
func busybox(ref string) Image {
	return Image{
		Ref:       ref,
		Cmd:       []string{"sh"},
		Host:      []string{"/bin/bash"},
		Multicall: []string{busyboxBin},
		Packages:  conformancePackages,
		Files:     append(accounts(), File{Path: "/bin/sh", Link: "/bin/bash"}),
		Dirs:      []string{"/tmp"},
		Env:       []string{imagePath},
	}
}

// webServer is a busybox image that serves docRoot's index.html on port
// 80, in the foreground.
func webServer(ref, docRoot string) Image {
	img := busybox(ref)
	img.Cmd = []string{"httpd", "-f", "-v", "-p", "80", "-h", docRoot}
	img.Files = append(img.Files, File{Path: path.Join(docRoot, "index.html"), Data: []byte("<html><body><h1>It works!</h1></body></html>\n"), Mode: 0o644})
	return img
}

// accounts are /etc/passwd and /etc/group: root, nobody, and agnhost's
// user-defined-in-image (1000) in group-defined-in-image (50000).
func accounts() []File {
	return []File{
		{Path: "/etc/passwd", Mode: 0o644, Data: []byte(`root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/:/sbin/nologin
user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh
`)},
		{Path: "/etc/group", Mode: 0o644, Data: []byte(`root:x:0:root
nogroup:x:65534:
user-defined-in-image:x:1000:
group-defined-in-image:x:50000:user-defined-in-image
`)},
	}
}
