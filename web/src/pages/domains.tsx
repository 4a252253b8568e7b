// Not built yet: replaced by the page itself.
import { PageHeader } from '../components/ui';

export function DomainsPage() {
  return <PageHeader title="DomainsPage" />;
}
