// The bare-VM floor's /init: powers the VM off at once. Static, no libraries beyond libc, so
// the floor is the kernel and QEMU alone (vm-boot-bench).
#include <sys/reboot.h>
#include <unistd.h>

int main() {
  ::sync();
  ::reboot(RB_POWER_OFF);
  return 1;
}
