/** The frame around every signed-in page: navigation (by role), who is signed in, sign-out. */
import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { isOwner, logout, type User } from '../session';

interface NavItem {
  href: string;
  label: string;
  ownerOnly?: boolean;
}
export const NAV: NavItem[] = [
  { href: '/fleet', label: 'Fleet' },
  { href: '/campaigns', label: 'Campaigns' },
  { href: '/inbox', label: 'Inbox' },
  { href: '/alerts', label: 'Alerts' },
  { href: '/domains', label: 'Domains' },
  { href: '/suppressions', label: 'Suppressions' },
  { href: '/users', label: 'Users' },
  { href: '/clients', label: 'Clients', ownerOnly: true },
  { href: '/sponsors', label: 'Sponsors', ownerOnly: true },
  { href: '/dev-mail', label: 'Dev mail', ownerOnly: true },
];

export function Layout({ user, children }: { user: User; children: ComponentChildren }) {
  const { path, route } = useLocation();
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <nav class="sidebar" aria-label="Main">
        <div class="brand">Outreach</div>
        <ul>
          {NAV.filter((item) => !item.ownerOnly || isOwner(user)).map((item) => (
            <li key={item.href}>
              <a href={item.href} aria-current={path === item.href || path.startsWith(`${item.href}/`) ? 'page' : undefined}>
                {item.label}
              </a>
            </li>
          ))}
        </ul>
        <div class="whoami">
          <div>{user.email}</div>
          <div class="muted">{user.role.replace('_', ' ')}</div>
          <button
            type="button"
            class="btn btn-plain btn-small"
            onClick={async () => {
              await logout();
              route('/');
            }}
          >
            Sign out
          </button>
        </div>
      </nav>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
