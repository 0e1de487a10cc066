import { render } from 'preact';
import { App } from './app/App';
import { initBranding } from './branding/branding';
import { language } from './i18n';
import './styles/base.css';
import './styles/layout.css';
import './styles/components.css';
import './styles/pages.css';
import { initTheme } from './theme/theme';

initTheme();
document.documentElement.lang = language;
void initBranding();

const root = document.getElementById('app');
if (root) render(<App />, root);
