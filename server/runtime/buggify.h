// MAIL_BUGGIFY(env, "site"): a fault site (FoundationDB's BUGGIFY) in server code. In the
// simulator, SimEnv decides once per seed whether a site is active and records every
// decision in the trace; the production Env always answers false. Sites belong on paths
// where misbehaving is legal (return 451, split a write, delay), never where it would break
// an invariant. Site names are stable literals (not __FILE__: paths differ between builds).
#pragma once

#include "runtime/env.h"

#if defined(MAIL_BUGGIFY_DISABLED)
#define MAIL_BUGGIFY(env, site) (static_cast<void>(env), false)
#else
#define MAIL_BUGGIFY(env, site) ((env).buggify(site))
#endif
