// Not built yet: replaced by the page itself.
import { PageHeader } from '../components/ui';

export function DevMailPage() {
  return <PageHeader title="DevMailPage" />;
}
