/* shell_signal.c: Ctrl-C for the th shell, as a flag the shell polls.
 *
 * LuaJIT cannot run Lua code inside a signal handler, so the th shell installs this small C handler: it only
 * counts SIGINTs in a sig_atomic_t. The shell polls the count while it waits for input (its poll() returns
 * EINTR: the handler is installed without SA_RESTART) and, while a command runs, from a debug hook that
 * raises the "interrupted" error in the command. Should the shell not get to the flag (a long C call that
 * never returns to Lua), the third unanswered Ctrl-C restores the previous disposition and re-raises the
 * signal, so the user can always end the process.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* sigaction */
#endif
#include "internal.h"

#include <signal.h>
#include <string.h>

enum { FORCE_AFTER = 3 };

static volatile sig_atomic_t sigint_count;
static struct sigaction previous_action;
static volatile sig_atomic_t installed;

static void on_sigint(int sig) {
  sigint_count = sigint_count + 1;
  if (sigint_count >= FORCE_AFTER) {
    sigaction(SIGINT, &previous_action, NULL);
    installed = 0;
    raise(sig);
  }
}

int tn_sigint_install(void) {
  if (installed) return 0;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0; /* no SA_RESTART: a blocking poll()/read() returns EINTR */
  if (sigaction(SIGINT, &action, &previous_action) != 0) {
    tn_error("sigint_install: sigaction failed");
    return -1;
  }
  sigint_count = 0;
  installed = 1;
  return 0;
}

int tn_sigint_uninstall(void) {
  if (!installed) return 0;
  if (sigaction(SIGINT, &previous_action, NULL) != 0) {
    tn_error("sigint_uninstall: sigaction failed");
    return -1;
  }
  installed = 0;
  return 0;
}

int tn_sigint_pending(void) { return (int)sigint_count; }

void tn_sigint_clear(void) { sigint_count = 0; }
