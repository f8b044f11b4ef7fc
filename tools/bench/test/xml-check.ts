/**
 * A small XML well-formedness check for the SVG tests (no XML parser among the dependencies): one root element,
 * every start tag closed in order, attributes quoted and unique, no raw `<` or `&` outside entities.
 */
export function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  const re = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|<!--[\s\S]*?-->|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body)) !== null) {
    if (m[6] !== undefined) {
      problems.push(`stray < or malformed tag at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
      continue;
    }
    if (m[5] !== undefined) {
      const text = m[5];
      if (stack.length === 0 && text.trim() !== '') problems.push(`text outside the root: ${text.slice(0, 40)}`);
      if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(text)) problems.push(`unescaped & in ${text.slice(0, 40)}`);
      continue;
    }
    if (m[2] === undefined) continue; // comment
    const [, closing, name, attrs, selfClosing] = m;
    if (closing) {
      if (stack.pop() !== name) problems.push(`</${name}> does not close the open element`);
      continue;
    }
    const seen = new Set<string>();
    for (const a of attrs.matchAll(/([\w:.-]+)\s*=\s*("([^"]*)"|'([^']*)')/g)) {
      if (seen.has(a[1])) problems.push(`duplicate attribute ${a[1]} on <${name}>`);
      seen.add(a[1]);
      const v = a[3] ?? a[4] ?? '';
      if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(v)) problems.push(`unescaped & in attribute ${a[1]}`);
    }
    if (stack.length === 0) roots++;
    if (!selfClosing) stack.push(name);
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}
