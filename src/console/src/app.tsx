/**
 * The console's shell: restores the session on load (refresh token of this tab), shows the
 * sign-in page when there is none, else the pages. Every page but the first is its own
 * chunk, loaded when first opened, so the first page stays small.
 */
import { useEffect, useState } from 'preact/hooks';
import { ErrorBoundary, lazy, LocationProvider, Route, Router } from 'preact-iso';
import { Layout } from './components/layout';
import { Loading } from './components/ui';
import { LoginPage } from './pages/login';
import { refresh, useUser } from './session';

// The fleet is the first page after sign-in: its chunk is fetched while the session is restored.
const fleetChunk = import('./pages/fleet');
const FleetPage = lazy(() => fleetChunk.then((m) => m.FleetPage));
const MailboxNewPage = lazy(() => import('./pages/mailbox-new').then((m) => m.MailboxNewPage));
const MailboxPage = lazy(() => import('./pages/mailbox').then((m) => m.MailboxPage));
const CampaignsPage = lazy(() => import('./pages/campaigns').then((m) => m.CampaignsPage));
const CampaignBuilderPage = lazy(() => import('./pages/campaign-builder').then((m) => m.CampaignBuilderPage));
const CampaignPage = lazy(() => import('./pages/campaign').then((m) => m.CampaignPage));
const InboxPage = lazy(() => import('./pages/inbox').then((m) => m.InboxPage));
const AlertsPage = lazy(() => import('./pages/alerts').then((m) => m.AlertsPage));
const DomainsPage = lazy(() => import('./pages/domains').then((m) => m.DomainsPage));
const SuppressionsPage = lazy(() => import('./pages/suppressions').then((m) => m.SuppressionsPage));
const UsersPage = lazy(() => import('./pages/users').then((m) => m.UsersPage));
const ClientsPage = lazy(() => import('./pages/clients').then((m) => m.ClientsPage));
const SponsorsPage = lazy(() => import('./pages/sponsors').then((m) => m.SponsorsPage));
const DevMailPage = lazy(() => import('./pages/dev-mail').then((m) => m.DevMailPage));

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page here. <a href="/fleet">Go to the fleet</a>.
      </p>
    </section>
  );
}

function Pages() {
  return (
    <Router>
      <Route path="/" component={FleetPage} />
      <Route path="/fleet" component={FleetPage} />
      <Route path="/fleet/new" component={MailboxNewPage} />
      <Route path="/fleet/:id" component={MailboxPage} />
      <Route path="/campaigns" component={CampaignsPage} />
      <Route path="/campaigns/new" component={CampaignBuilderPage} />
      <Route path="/campaigns/:id/edit" component={CampaignBuilderPage} />
      <Route path="/campaigns/:id" component={CampaignPage} />
      <Route path="/inbox" component={InboxPage} />
      <Route path="/alerts" component={AlertsPage} />
      <Route path="/domains" component={DomainsPage} />
      <Route path="/suppressions" component={SuppressionsPage} />
      <Route path="/users" component={UsersPage} />
      <Route path="/clients" component={ClientsPage} />
      <Route path="/sponsors" component={SponsorsPage} />
      <Route path="/dev-mail" component={DevMailPage} />
      <Route default component={NotFound} />
    </Router>
  );
}

export function App() {
  const user = useUser();
  const [restoring, setRestoring] = useState(true);
  useEffect(() => {
    void refresh().finally(() => setRestoring(false));
  }, []);

  if (restoring) return <Loading what="Signing in" />;
  return (
    <LocationProvider>
      {user ? (
        <Layout user={user}>
          <ErrorBoundary>
            <Pages />
          </ErrorBoundary>
        </Layout>
      ) : (
        <LoginPage />
      )}
    </LocationProvider>
  );
}
