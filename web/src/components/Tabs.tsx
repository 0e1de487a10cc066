import { Link } from '../router/Link';

export interface Tab {
  href: string;
  label: string;
}

/** Section tabs that are links, so each tab has its own address. */
export function Tabs({ tabs, label }: { tabs: Tab[]; label: string }) {
  return (
    <nav class="tabs" aria-label={label}>
      {tabs.map((tab) => (
        <Link key={tab.href} href={tab.href} class="tab">
          {tab.label}
        </Link>
      ))}
    </nav>
  );
}
