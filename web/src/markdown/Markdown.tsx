import type { ComponentChildren } from 'preact';
import { parseMarkdown, type Block, type Inline } from './parse';

function inline(nodes: Inline[]): ComponentChildren {
  return nodes.map((n, i) => {
    switch (n.kind) {
      case 'text':
        return n.text;
      case 'code':
        return <code key={i}>{n.text}</code>;
      case 'strong':
        return <strong key={i}>{inline(n.children)}</strong>;
      case 'em':
        return <em key={i}>{inline(n.children)}</em>;
      case 'link':
        return (
          <a key={i} href={n.href} rel="noopener noreferrer">
            {inline(n.children)}
          </a>
        );
    }
  });
}

function block(b: Block, i: number) {
  switch (b.kind) {
    case 'heading': {
      // The page has its own h1, so document headings start one level lower.
      const level = Math.min(6, b.level + 1);
      const Tag = `h${level}` as 'h2';
      return <Tag key={i}>{inline(b.content)}</Tag>;
    }
    case 'paragraph':
      return <p key={i}>{inline(b.content)}</p>;
    case 'rule':
      return <hr key={i} />;
    case 'list': {
      const items = b.items.map((item, j) => <li key={j}>{inline(item)}</li>);
      return b.ordered ? <ol key={i}>{items}</ol> : <ul key={i}>{items}</ul>;
    }
    case 'table':
      return (
        <div class="table-wrap" key={i}>
          <table class="table">
            <thead>
              <tr>
                {b.head.map((c, j) => (
                  <th key={j} scope="col">
                    {inline(c)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {b.rows.map((row, j) => (
                <tr key={j}>
                  {row.map((c, k) => (
                    <td key={k}>{inline(c)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
  }
}

/** Renders trusted-shape, untrusted-content Markdown as elements. */
export function Markdown({ source }: { source: string }) {
  return <div class="prose">{parseMarkdown(source).map(block)}</div>;
}
