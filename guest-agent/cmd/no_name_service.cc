// The static agent never resolves a name (it speaks netlink, vsock and virtio-serial, and the
// host gives addresses, not names). libnl's addr.o and utils.o still refer to getaddrinfo,
// getnameinfo, getprotobyname and getprotobynumber, in functions the agent never calls, and
// for those static glibc links its NSS and resolver (47 KiB of text, 60 KiB of the agent's
// RSS in the guest, measured with host_vm_e2e). These definitions stand in, and fail as a
// name service that knows nothing would.

#include <netdb.h>

extern "C" {

int getaddrinfo(const char*, const char*, const struct addrinfo*, struct addrinfo** res) {
  if (res != nullptr) *res = nullptr;
  return EAI_NONAME;
}

int getnameinfo(const struct sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int) { return EAI_NONAME; }

struct protoent* getprotobyname(const char*) { return nullptr; }

struct protoent* getprotobynumber(int) { return nullptr; }

}  // extern "C"
