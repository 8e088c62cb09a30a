// Command go-roughtime is the Go peer of bench:roughtime: a batching Roughtime server on
// Cloudflare's protocol package (github.com/cloudflare/roughtime/protocol), measured in the same
// run as saturn's server and the bare Node echo.
//
// Its shape is the one the comparison is about: one UDP socket and one loop. The loop blocks for
// one request, then keeps reading without blocking while more datagrams are waiting (at most 64
// in all), answers the batch with one protocol.CreateReplies call per response version (one
// Ed25519 signature over one Merkle tree), and sends the replies. There is no batching timer: a
// batch is whatever the socket held.
//
// Usage: go-roughtime [--listen-addr 127.0.0.1:0]
//
// It makes a fresh root key and a delegation valid from a day ago to a day ahead, then prints one
// line, "listening on HOST:PORT public key BASE64" (the root public key), and serves until killed.
// Requests that do not parse, name no version it speaks or name another key (SRV) are dropped and
// counted; the counts are printed on stderr at exit (SIGTERM or SIGINT).
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudflare/roughtime/protocol"
)

const (
	// maxBatch is the most requests answered under one signature.
	maxBatch = 64
	// datagramBytes is the receive buffer per datagram: a request is 1024 bytes or a little more.
	datagramBytes = 2048
	// receiveBufferBytes is the socket's kernel receive buffer, as the echo baseline and saturn set.
	receiveBufferBytes = 4 << 20
	// radius is the uncertainty each reply states.
	radius = time.Second
)

type datagram struct {
	buf  []byte
	n    int
	from netip.AddrPort
}

type group struct {
	version  protocol.Version
	requests []protocol.Request
	peers    []netip.AddrPort
}

var (
	batches, replied, dropped atomic.Uint64
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:2002", "UDP address to serve on (port 0 picks a free one)")
	flag.Parse()
	log.SetFlags(0)

	_, rootKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		log.Fatalf("root key: %v", err)
	}
	_, onlineKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		log.Fatalf("online key: %v", err)
	}
	now := time.Now()
	cert, err := protocol.NewCertificate(now.Add(-24*time.Hour), now.Add(24*time.Hour), onlineKey, rootKey)
	if err != nil {
		log.Fatalf("delegation: %v", err)
	}
	certs := []protocol.Certificate{*cert}

	addr, err := net.ResolveUDPAddr("udp", *listen)
	if err != nil {
		log.Fatalf("--listen-addr %s: %v", *listen, err)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		log.Fatalf("listen on %s: %v", *listen, err)
	}
	if err := conn.SetReadBuffer(receiveBufferBytes); err != nil {
		log.Fatalf("receive buffer: %v", err)
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		log.Fatalf("raw socket: %v", err)
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		fmt.Fprintf(os.Stderr, "batches %d replied %d dropped %d\n", batches.Load(), replied.Load(), dropped.Load())
		os.Exit(0)
	}()

	rootPublic := rootKey.Public().(ed25519.PublicKey)
	fmt.Printf("listening on %s public key %s\n", conn.LocalAddr(), base64.StdEncoding.EncodeToString(rootPublic))

	batch := make([]datagram, maxBatch)
	for i := range batch {
		batch[i].buf = make([]byte, datagramBytes)
	}
	var groups []group
	for {
		n, from, err := conn.ReadFromUDPAddrPort(batch[0].buf)
		if err != nil {
			log.Fatalf("receive: %v", err)
		}
		batch[0].n, batch[0].from = n, from
		count := 1 + drain(raw, batch[1:])
		groups = parse(batch[:count], certs, groups[:0])
		for i := range groups {
			answer(conn, &groups[i], cert)
		}
	}
}

// drain reads the datagrams already waiting on the socket into batch, without blocking, and
// returns how many it read.
func drain(raw syscall.RawConn, batch []datagram) int {
	count := 0
	err := raw.Read(func(fd uintptr) bool {
		for count < len(batch) {
			n, from, err := syscall.Recvfrom(int(fd), batch[count].buf, syscall.MSG_DONTWAIT)
			if err != nil {
				// EAGAIN: nothing more is waiting. Any other error ends the batch too.
				break
			}
			batch[count].n, batch[count].from = n, addrPort(from)
			count++
		}
		// Done either way: never wait for readiness here.
		return true
	})
	if err != nil {
		log.Fatalf("receive: %v", err)
	}
	return count
}

func addrPort(from syscall.Sockaddr) netip.AddrPort {
	switch a := from.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// parse sorts the batch's valid requests by response version (CreateReplies signs for one
// version) and drops the rest.
func parse(batch []datagram, certs []protocol.Certificate, groups []group) []group {
	for i := range groups {
		groups[i].requests, groups[i].peers = groups[i].requests[:0], groups[i].peers[:0]
	}
	for _, d := range batch {
		req, err := protocol.ParseRequest(d.buf[:d.n])
		if err != nil || !d.from.IsValid() || protocol.SelectCertificateForRequest(req, certs) == nil {
			dropped.Add(1)
			continue
		}
		version, err := protocol.ResponseVersionFromSupported(req.Versions)
		if err != nil {
			dropped.Add(1)
			continue
		}
		g := find(&groups, version)
		g.requests = append(g.requests, *req)
		g.peers = append(g.peers, d.from)
	}
	return groups
}

func find(groups *[]group, version protocol.Version) *group {
	for i := range *groups {
		if (*groups)[i].version == version {
			return &(*groups)[i]
		}
	}
	*groups = append(*groups, group{version: version})
	return &(*groups)[len(*groups)-1]
}

func answer(conn *net.UDPConn, g *group, cert *protocol.Certificate) {
	if len(g.requests) == 0 {
		return
	}
	replies, err := protocol.CreateReplies(g.version, g.requests, time.Now(), radius, cert)
	if err != nil {
		dropped.Add(uint64(len(g.requests)))
		return
	}
	batches.Add(1)
	for i, reply := range replies {
		if _, err := conn.WriteToUDPAddrPort(reply, g.peers[i]); err != nil {
			dropped.Add(1)
			continue
		}
		replied.Add(1)
	}
}
