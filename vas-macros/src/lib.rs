//! The derives and the attribute that make vas's public face describe itself.
//!
//! vas writes its records, name tables, event union and calls once, as ordinary Rust with
//! their documentation; these macros add to each the metadata that `vas::description`
//! gathers (names, documentation, field types, defaults, list orders, REST routes), from
//! which `vas-gen` produces the C, Python and uniffi shells and the reference. They also write
//! what would otherwise be written by hand for every item of a kind: a name table's parsing
//! (a bad value is `invalid_input` naming the allowed ones), its serde form, an input record's
//! `Default`, and every call's blocking twin.
//!
//! Hand-written rather than taken from a crate: what is generated is specific to vas's
//! description (its `Ty` vocabulary, its error type, its blocking engine). The macros are
//! used only inside vas; they name its items with `crate::` paths.
//!
//! * `#[derive(Record)]` on a struct with named fields; `#[record(input)]` marks what callers
//!   send (it then gets a `Default` from the fields' defaults); on fields,
//!   `#[field(required)]` and `#[field(default = EXPR)]`.
//! * `#[derive(Names)]` on a fieldless enum: `#[names(what = "RTP transport")]` on the enum,
//!   `#[name = "gray"]` and `#[alias = "gray8"]` on variants (the name is otherwise the
//!   variant in snake_case).
//! * `#[derive(Union)]` on an enum whose variants have named fields (the engine's events).
//! * `#[calls(group)]` on an `impl Vas` block: each method marked `#[call(...)]` is described
//!   and gets a blocking twin on `BlockingVas`; `#[call(rest = "GET /api/v1/x")]` names its
//!   route, `#[call(rest = "none: why")]` says why it has none, `#[call(twin = false)]` leaves
//!   the twin to be written by hand.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Attribute, Data, DeriveInput, Expr, Fields, FnArg, ImplItem, ItemImpl, Lit, Meta, Pat,
    ReturnType, Token, Type,
};

/// The documentation of an item: its `///` lines, each without the one leading space, joined.
fn doc_of(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for a in attrs {
        if let Meta::NameValue(nv) = &a.meta
            && nv.path.is_ident("doc")
            && let Expr::Lit(l) = &nv.value
            && let Lit::Str(s) = &l.lit
        {
            let v = s.value();
            lines.push(v.strip_prefix(' ').unwrap_or(&v).to_owned());
        }
    }
    lines.join("\n").trim().to_owned()
}

/// `FooBar` -> `foo_bar`.
fn snake(ident: &str) -> String {
    let mut out = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn error(span: Span, message: &str) -> TokenStream {
    syn::Error::new(span, message).to_compile_error().into()
}

/// The key-value pairs and flags inside `#[name(...)]` attributes.
fn nested(attrs: &[Attribute], name: &str) -> syn::Result<Vec<Meta>> {
    let mut out = Vec::new();
    for a in attrs {
        if a.path().is_ident(name) {
            let list = a.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
            out.extend(list);
        }
    }
    Ok(out)
}

fn has_flag(metas: &[Meta], flag: &str) -> bool {
    metas
        .iter()
        .any(|m| matches!(m, Meta::Path(p) if p.is_ident(flag)))
}

fn value_of<'a>(metas: &'a [Meta], key: &str) -> Option<&'a Expr> {
    metas.iter().find_map(|m| match m {
        Meta::NameValue(nv) if nv.path.is_ident(key) => Some(&nv.value),
        _ => None,
    })
}

fn str_of(e: &Expr) -> Option<String> {
    match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Str(s) => Some(s.value()),
            _ => None,
        },
        _ => None,
    }
}

/// The JSON key serde gives a field (`#[serde(rename = "…")]`, else its name).
fn json_name(attrs: &[Attribute], field: &str) -> String {
    for a in attrs {
        if !a.path().is_ident("serde") {
            continue;
        }
        if let Ok(list) = a.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
            && let Some(v) = value_of(&list.into_iter().collect::<Vec<_>>(), "rename")
            && let Some(s) = str_of(v)
        {
            return s;
        }
    }
    field.to_owned()
}

/// The metadata of one struct's named fields, as a `vec![FieldDesc { … }]` expression.
fn fields_desc(
    fields: &syn::FieldsNamed,
    input: bool,
) -> syn::Result<(TokenStream2, Vec<TokenStream2>)> {
    let mut descs = Vec::new();
    let mut defaults = Vec::new();
    for f in &fields.named {
        let ident = f.ident.as_ref().expect("named field");
        let name = ident.to_string();
        let doc = doc_of(&f.attrs);
        let json = json_name(&f.attrs, &name);
        let ty = &f.ty;
        let metas = nested(&f.attrs, "field")?;
        let required = has_flag(&metas, "required");
        let default_expr = value_of(&metas, "default");
        if required && default_expr.is_some() {
            return Err(syn::Error::new(
                f.span(),
                "a field is required or has a default, not both",
            ));
        }
        let default = if !input || required {
            quote!(::core::option::Option::None)
        } else if let Some(e) = default_expr {
            quote!(::core::option::Option::Some(crate::description::IntoLiteral::literal(&{ let v: #ty = #e; v })))
        } else {
            quote!(::core::option::Option::Some(crate::description::IntoLiteral::literal(&<#ty as ::core::default::Default>::default())))
        };
        descs.push(quote! {
            crate::description::FieldDesc {
                name: #name,
                doc: #doc,
                json: #json,
                ty: <#ty as crate::description::Describe>::ty(),
                required: #required,
                default: #default,
            }
        });
        defaults.push(match default_expr {
            Some(e) => quote!(#ident: #e),
            None => quote!(#ident: ::core::default::Default::default()),
        });
    }
    Ok((quote!(::std::vec![#(#descs),*]), defaults))
}

/// `#[derive(Record)]`: see the crate documentation.
#[proc_macro_derive(Record, attributes(record, field))]
pub fn derive_record(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let Data::Struct(s) = &input.data else {
        return error(input.span(), "Record needs a struct");
    };
    let Fields::Named(fields) = &s.fields else {
        return error(input.span(), "Record needs named fields");
    };
    let metas = match nested(&input.attrs, "record") {
        Ok(m) => m,
        Err(e) => return e.to_compile_error().into(),
    };
    let is_input = has_flag(&metas, "input");
    let (fields_vec, defaults) = match fields_desc(fields, is_input) {
        Ok(x) => x,
        Err(e) => return e.to_compile_error().into(),
    };
    let doc = doc_of(&input.attrs);
    let name_str = name.to_string();
    let default_impl = if is_input {
        quote! {
            impl ::core::default::Default for #name {
                /// The defaults of the description (required fields empty).
                fn default() -> Self {
                    #name { #(#defaults),* }
                }
            }
        }
    } else {
        quote!()
    };
    quote! {
        impl crate::description::Describe for #name {
            fn ty() -> crate::description::Ty {
                crate::description::Ty::Record(#name_str)
            }
        }
        impl crate::description::Record for #name {
            fn record() -> crate::description::RecordDesc {
                crate::description::RecordDesc {
                    name: #name_str,
                    doc: #doc,
                    input: #is_input,
                    fields: #fields_vec,
                }
            }
        }
        #default_impl
    }
    .into()
}

/// `#[derive(Names)]`: see the crate documentation.
#[proc_macro_derive(Names, attributes(names, name, alias))]
pub fn derive_names(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    let ident = &input.ident;
    let Data::Enum(e) = &input.data else {
        return error(input.span(), "Names needs an enum");
    };
    let metas = match nested(&input.attrs, "names") {
        Ok(m) => m,
        Err(e) => return e.to_compile_error().into(),
    };
    let what = value_of(&metas, "what")
        .and_then(str_of)
        .unwrap_or_else(|| snake(&ident.to_string()).replace('_', " "));
    let mut variants = Vec::new();
    let mut names = Vec::new();
    let mut descs = Vec::new();
    let mut parse_arms = Vec::new();
    for v in &e.variants {
        if !matches!(v.fields, Fields::Unit) {
            return error(v.span(), "Names needs variants without fields");
        }
        let vi = &v.ident;
        let mut wire = snake(&vi.to_string());
        let mut aliases = Vec::new();
        for a in &v.attrs {
            if let Meta::NameValue(nv) = &a.meta
                && let Some(s) = str_of(&nv.value)
            {
                if nv.path.is_ident("name") {
                    wire = s;
                } else if nv.path.is_ident("alias") {
                    aliases.push(s);
                }
            }
        }
        let doc = doc_of(&v.attrs);
        let rust = vi.to_string();
        descs.push(quote! {
            crate::description::VariantDesc { name: #wire, rust: #rust, doc: #doc }
        });
        parse_arms.push(quote!(#wire #(| #aliases)* => ::core::result::Result::Ok(#ident::#vi),));
        variants.push(vi.clone());
        names.push(wire);
    }
    let allowed = names.join(", ");
    let doc = doc_of(&input.attrs);
    let name_str = ident.to_string();
    quote! {
        impl #ident {
            /// Every value, in the order of the name table.
            pub const ALL: &'static [#ident] = &[#(#ident::#variants),*];

            /// The value's name, the same in every shell and in JSON.
            pub const fn as_str(self) -> &'static str {
                match self {
                    #(#ident::#variants => #names,)*
                }
            }
        }
        impl ::core::str::FromStr for #ident {
            type Err = crate::Error;
            /// Parses a name; anything else is `invalid_input` naming the value and the
            /// allowed ones.
            fn from_str(s: &str) -> crate::Result<Self> {
                match s {
                    #(#parse_arms)*
                    other => ::core::result::Result::Err(crate::Error::invalid_input(::std::format!(
                        "unknown {} {:?}; one of {}", #what, other, #allowed
                    ))),
                }
            }
        }
        impl ::core::fmt::Display for #ident {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::serde::Serialize for #ident {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for #ident {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::core::result::Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(|e: crate::Error| <D::Error as ::serde::de::Error>::custom(e.message()))
            }
        }
        impl crate::description::Describe for #ident {
            fn ty() -> crate::description::Ty {
                crate::description::Ty::Enum(#name_str)
            }
        }
        impl crate::description::Enum for #ident {
            fn enumeration() -> crate::description::EnumDesc {
                crate::description::EnumDesc {
                    name: #name_str,
                    doc: #doc,
                    what: #what,
                    variants: ::std::vec![#(#descs),*],
                }
            }
        }
        impl crate::description::IntoLiteral for #ident {
            fn literal(&self) -> crate::description::Literal {
                crate::description::Literal::Enum(self.as_str())
            }
        }
    }
    .into()
}

/// `#[derive(Union)]`: see the crate documentation.
#[proc_macro_derive(Union)]
pub fn derive_union(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    let ident = &input.ident;
    let Data::Enum(e) = &input.data else {
        return error(input.span(), "Union needs an enum");
    };
    let mut variants = Vec::new();
    let mut kind_arms = Vec::new();
    for v in &e.variants {
        let vi = &v.ident;
        let wire = snake(&vi.to_string());
        let doc = doc_of(&v.attrs);
        let fields = match &v.fields {
            Fields::Named(named) => match fields_desc(named, false) {
                Ok((f, _)) => f,
                Err(e) => return e.to_compile_error().into(),
            },
            Fields::Unit => quote!(::std::vec::Vec::new()),
            Fields::Unnamed(_) => return error(v.span(), "Union variants need named fields"),
        };
        let pattern = match &v.fields {
            Fields::Unit => quote!(#ident::#vi),
            _ => quote!(#ident::#vi { .. }),
        };
        kind_arms.push(quote!(#pattern => #wire,));
        variants.push(quote! {
            crate::description::RecordDesc {
                name: #wire,
                doc: #doc,
                input: false,
                fields: #fields,
            }
        });
    }
    let doc = doc_of(&input.attrs);
    let name_str = ident.to_string();
    quote! {
        impl #ident {
            /// The variant's name (`stream_state`, `recorder`, …), the same in every shell.
            pub fn kind(&self) -> &'static str {
                match self {
                    #(#kind_arms)*
                }
            }
        }
        impl crate::description::Describe for #ident {
            fn ty() -> crate::description::Ty {
                crate::description::Ty::Union(#name_str)
            }
        }
        impl crate::description::Union for #ident {
            fn union() -> crate::description::UnionDesc {
                crate::description::UnionDesc {
                    name: #name_str,
                    doc: #doc,
                    variants: ::std::vec![#(#variants),*],
                }
            }
        }
    }
    .into()
}

/// One `#[call(...)]` method, as the attribute macro sees it.
struct Call {
    name: syn::Ident,
    doc: String,
    args: Vec<(syn::Ident, Type)>,
    ret: Type,
    is_async: bool,
    rest: String,
    twin: bool,
}

/// `T` of `Result<T>` (or the type itself when it is not a `Result`), and whether it was one.
fn ok_type(ret: &ReturnType) -> (Type, bool) {
    let ty: Type = match ret {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, t) => (**t).clone(),
    };
    if let Type::Path(p) = &ty
        && let Some(last) = p.path.segments.last()
        && last.ident == "Result"
        && let syn::PathArguments::AngleBracketed(a) = &last.arguments
        && let Some(syn::GenericArgument::Type(t)) = a.args.first()
    {
        return (t.clone(), true);
    }
    (ty, false)
}

/// `#[calls(group)]`: see the crate documentation.
#[proc_macro_attribute]
pub fn calls(attr: TokenStream, item: TokenStream) -> TokenStream {
    let group = match syn::parse::<syn::Ident>(attr) {
        Ok(g) => g,
        Err(e) => return e.to_compile_error().into(),
    };
    let mut block = syn::parse_macro_input!(item as ItemImpl);
    let mut calls = Vec::new();
    for item in &mut block.items {
        let ImplItem::Fn(f) = item else { continue };
        let Some(pos) = f.attrs.iter().position(|a| a.path().is_ident("call")) else {
            continue;
        };
        let attr = f.attrs.remove(pos);
        let metas = match &attr.meta {
            Meta::Path(_) => Vec::new(),
            _ => match attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
                Ok(l) => l.into_iter().collect(),
                Err(e) => return e.to_compile_error().into(),
            },
        };
        let Some(rest) = value_of(&metas, "rest").and_then(str_of) else {
            return error(
                attr.span(),
                "a call names its REST route: rest = \"GET /api/v1/…\" or rest = \"none: why\"",
            );
        };
        let twin = !matches!(value_of(&metas, "twin"), Some(Expr::Lit(l)) if matches!(&l.lit, Lit::Bool(b) if !b.value));
        let mut args = Vec::new();
        for input in &f.sig.inputs {
            match input {
                FnArg::Receiver(_) => {}
                FnArg::Typed(pt) => {
                    let Pat::Ident(pi) = &*pt.pat else {
                        return error(pt.span(), "a call's arguments are plain names");
                    };
                    args.push((pi.ident.clone(), (*pt.ty).clone()));
                }
            }
        }
        let (ret, _) = ok_type(&f.sig.output);
        calls.push(Call {
            name: f.sig.ident.clone(),
            doc: doc_of(&f.attrs),
            args,
            ret,
            is_async: f.sig.asyncness.is_some(),
            rest,
            twin,
        });
    }
    let mut descs = Vec::new();
    let mut twins = Vec::new();
    for c in &calls {
        let name = &c.name;
        let name_str = name.to_string();
        let doc = &c.doc;
        let rest = &c.rest;
        let ret = &c.ret;
        let is_async = c.is_async;
        let arg_descs = c.args.iter().map(|(n, t)| {
            let n = n.to_string();
            quote!(crate::description::ArgDesc { name: #n, ty: <#t as crate::description::Describe>::ty() })
        });
        descs.push(quote! {
            crate::description::CallDesc {
                name: #name_str,
                doc: #doc,
                args: ::std::vec![#(#arg_descs),*],
                returns: <#ret as crate::description::Describe>::ty(),
                rest: #rest,
                waits: #is_async,
            }
        });
        if !c.twin {
            continue;
        }
        let params = c.args.iter().map(|(n, t)| quote!(#n: #t));
        let names: Vec<_> = c.args.iter().map(|(n, _)| n.clone()).collect();
        let see = format!("See [`Vas::{name}`](crate::Vas::{name}).");
        twins.push(if c.is_async {
            quote! {
                #[doc = #see]
                pub fn #name(&self, #(#params),*) -> crate::Result<#ret> {
                    self.call(move |v| async move { v.#name(#(#names),*).await })
                }
            }
        } else {
            quote! {
                #[doc = #see]
                pub fn #name(&self, #(#params),*) -> #ret {
                    self.engine().#name(#(#names),*)
                }
            }
        });
    }
    let fn_name = format_ident!("{}_calls", group);
    let doc = format!("The calls of the engine's `{group}` room, as the description lists them.");
    quote! {
        #block

        impl crate::BlockingVas {
            #(#twins)*
        }

        #[doc = #doc]
        pub(crate) fn #fn_name() -> ::std::vec::Vec<crate::description::CallDesc> {
            ::std::vec![#(#descs),*]
        }
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse::Parser;

    #[test]
    fn snake_case_of_type_names() {
        assert_eq!(snake("StreamState"), "stream_state");
        assert_eq!(snake("Rgb24"), "rgb24");
        assert_eq!(snake("ViewerJoined"), "viewer_joined");
    }

    #[test]
    fn docs_lose_one_leading_space_per_line() {
        let attrs: Vec<Attribute> = Attribute::parse_outer
            .parse2(quote!(#[doc = " First."] #[doc = "   indented"]))
            .unwrap();
        assert_eq!(doc_of(&attrs), "First.\n  indented");
    }

    #[test]
    fn the_ok_type_of_a_result() {
        let r: ReturnType = syn::parse_quote!(-> crate::Result<Vec<Device>>);
        let (t, was) = ok_type(&r);
        assert!(was);
        assert_eq!(quote!(#t).to_string(), "Vec < Device >");
    }
}
